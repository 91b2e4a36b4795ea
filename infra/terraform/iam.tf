# One IRSA role per service that touches S3 or (with create_msk) Kafka ("<name>-<service>", the
# chart's irsa.roleArnPrefix + service), allowed only the bucket's objects and the key that
# encrypts them, and this cluster's topics and groups.
data "aws_iam_policy_document" "s3_objects" {
  statement {
    sid       = "BucketObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.data.arn}/*"]
  }
  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]
  }
  statement {
    sid       = "UseDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}

resource "aws_iam_policy" "s3_objects" {
  name   = "${var.name}-s3-objects"
  policy = data.aws_iam_policy_document.s3_objects.json
}

# MSK IAM access control: connect, use this cluster's topics (create them: the prepare Job)
# and consumer groups. Nothing outside the cluster.
locals {
  msk_arn        = var.create_msk ? aws_msk_cluster.kafka[0].arn : ""
  msk_topics_arn = var.create_msk ? "${replace(local.msk_arn, ":cluster/", ":topic/")}/*" : ""
  msk_groups_arn = var.create_msk ? "${replace(local.msk_arn, ":cluster/", ":group/")}/*" : ""
  irsa_services  = toset(concat(var.s3_services, var.create_msk ? var.kafka_services : []))
}

data "aws_iam_policy_document" "kafka_client" {
  count = var.create_msk ? 1 : 0
  statement {
    sid       = "Cluster"
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
    resources = [local.msk_arn]
  }
  statement {
    sid = "Topics"
    actions = [
      "kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:ReadData",
      "kafka-cluster:WriteData", "kafka-cluster:DescribeTopicDynamicConfiguration",
    ]
    resources = [local.msk_topics_arn]
  }
  statement {
    sid       = "ConsumerGroups"
    actions   = ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"]
    resources = [local.msk_groups_arn]
  }
}

resource "aws_iam_policy" "kafka_client" {
  count  = var.create_msk ? 1 : 0
  name   = "${var.name}-kafka-client"
  policy = data.aws_iam_policy_document.kafka_client[0].json
}

module "irsa" {
  source   = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version  = "5.59.0"
  for_each = local.irsa_services

  role_name = "${var.name}-${each.key}"
  role_policy_arns = merge(
    contains(var.s3_services, each.key) ? { s3 = aws_iam_policy.s3_objects.arn } : {},
    var.create_msk && contains(var.kafka_services, each.key) ? { kafka = aws_iam_policy.kafka_client[0].arn } : {},
  )
  oidc_providers = {
    main = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["${var.namespace}:${var.name}-${each.key}"]
    }
  }
}
