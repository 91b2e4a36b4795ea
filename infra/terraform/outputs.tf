# What values-eks.yaml needs: `terraform output -json` and fill the REPLACE_ME values.

output "cluster_name" {
  description = "karpenter.clusterName"
  value       = module.eks.cluster_name
}

output "karpenter_node_role" {
  description = "karpenter.nodeRole"
  value       = module.karpenter.node_iam_role_name
}

output "irsa_role_arn_prefix" {
  description = "irsa.roleArnPrefix (each service's role is this plus its name)"
  value       = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/${var.name}-"
}

output "s3_bucket" {
  description = "config.s3_bucket"
  value       = aws_s3_bucket.data.bucket
}

output "s3_endpoint_url" {
  description = "config.s3_endpoint_url"
  value       = "https://s3.${var.region}.amazonaws.com"
}

output "kafka_bootstrap_servers" {
  description = "config.kafka_bootstrap_servers (MSK, IAM auth on 9098), when create_msk"
  value       = var.create_msk ? aws_msk_cluster.kafka[0].bootstrap_brokers_sasl_iam : null
}

output "postgres_endpoint" {
  description = "Host:port for DATABASE_URL in the forgeline-secrets Secret, when create_rds"
  value       = var.create_rds ? aws_db_instance.postgres[0].endpoint : null
}

output "redis_url" {
  description = "config.redis_url (TLS), when create_elasticache"
  value       = var.create_elasticache ? "rediss://${aws_elasticache_replication_group.redis[0].primary_endpoint_address}:6379/0" : null
}
