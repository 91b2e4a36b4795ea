variable "region" {
  description = "AWS region for everything."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the cluster; prefix of every resource and of the IRSA roles (<name>-<service>)."
  type        = string
  default     = "forgeline"
}

variable "kubernetes_version" {
  description = "EKS control plane version (the chart is validated against 1.30 and newer)."
  type        = string
  default     = "1.31"
}

variable "vpc_cidr" {
  description = "CIDR of the VPC (values-eks.yaml's NetworkPolicy egress to managed services uses it)."
  type        = string
  default     = "10.0.0.0/16"
}

variable "cpu_node_instance_types" {
  description = "Instance types of the managed CPU node group (services, Ray head, operators)."
  type        = list(string)
  default     = ["m6i.xlarge"]
}

variable "cpu_node_count" {
  description = "Desired, min and max size of the CPU node group."
  type        = object({ desired = number, min = number, max = number })
  default     = { desired = 3, min = 3, max = 6 }
}

variable "namespace" {
  description = "Kubernetes namespace the chart is installed in (IRSA trust is scoped to it)."
  type        = string
  default     = "forgeline"
}

variable "s3_services" {
  description = "Services that read or write the S3 bucket; each gets an IRSA role with access to it only."
  type        = list(string)
  default     = ["gateway", "imagegen-worker"]
}

variable "kafka_services" {
  description = "Services (and the prepare Job) that talk to Kafka; with create_msk each gets an IRSA role allowed this cluster's topics and groups (MSK IAM auth)."
  type        = list(string)
  default = [
    "prepare", "gateway", "echo", "imagegen", "imagegen-worker", "email", "email-delivery",
    "moderation-rules", "moderation-classifier", "moderation-judge", "codereview-orchestrator",
    "codereview-aggregator", "codereview-publisher", "codereview-quality", "codereview-security",
    "codereview-performance", "codereview-tests", "codereview-docs",
  ]
}

variable "create_msk" {
  description = "Create an MSK cluster (else point config.kafka_bootstrap_servers at your own Kafka)."
  type        = bool
  default     = false
}

variable "create_rds" {
  description = "Create an RDS Postgres instance (pgvector is available on RDS Postgres 15+)."
  type        = bool
  default     = false
}

variable "create_elasticache" {
  description = "Create an ElastiCache Redis replication group."
  type        = bool
  default     = false
}
