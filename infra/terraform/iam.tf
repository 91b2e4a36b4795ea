# One IRSA role per service that touches S3 ("<name>-<service>", the chart's
# irsa.roleArnPrefix + service), allowed only the bucket's objects and the key that encrypts them.
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

module "irsa" {
  source   = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version  = "5.59.0"
  for_each = toset(var.s3_services)

  role_name = "${var.name}-${each.key}"
  role_policy_arns = {
    s3 = aws_iam_policy.s3_objects.arn
  }
  oidc_providers = {
    main = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["${var.namespace}:${var.name}-${each.key}"]
    }
  }
}
