//! The table: every AWS API operation the backend may send, whether it only reads, and the IAM
//! actions that authorize it.

/// One AWS API operation the backend may send.
#[derive(Debug)]
pub struct Api {
    /// The operation as the request guard names it: `service:Operation`.
    pub op: &'static str,
    /// Whether it changes nothing (the only kind a read-only console sends).
    pub read: bool,
    /// The IAM actions that authorize it (none: every principal may, as with
    /// `sts:GetCallerIdentity`). The first is the operation's own; the others are what it
    /// needs besides (tagging on create, KMS for encrypted sources, a role passed on).
    pub iam: &'static [&'static str],
}

const fn read(op: &'static str, iam: &'static [&'static str]) -> Api {
    Api {
        op,
        read: true,
        iam,
    }
}

const fn change(op: &'static str, iam: &'static [&'static str]) -> Api {
    Api {
        op,
        read: false,
        iam,
    }
}

/// Every operation the AWS backend may send. The request guard refuses any other.
pub const APIS: &[Api] = &[
    // EC2 and EBS
    read(
        "ec2:DescribeInstanceStatus",
        &["ec2:DescribeInstanceStatus"],
    ),
    read("ec2:DescribeInstances", &["ec2:DescribeInstances"]),
    read("ec2:DescribeVolumes", &["ec2:DescribeVolumes"]),
    read("ec2:DescribeSnapshots", &["ec2:DescribeSnapshots"]),
    read("ec2:DescribeImages", &["ec2:DescribeImages"]),
    read("ec2:DescribeSubnets", &["ec2:DescribeSubnets"]),
    read(
        "ec2:DescribeSecurityGroups",
        &["ec2:DescribeSecurityGroups"],
    ),
    read(
        "ec2:DescribeAvailabilityZones",
        &["ec2:DescribeAvailabilityZones"],
    ),
    // Starting an instance whose volumes are encrypted with a customer key, or launching from
    // an AMI whose snapshots are, needs the key too (else the instance stops again at once).
    change(
        "ec2:StartInstances",
        &[
            "ec2:StartInstances",
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
        ],
    ),
    change(
        "ec2:RunInstances",
        &[
            "ec2:RunInstances",
            "ec2:CreateTags",
            "iam:PassRole",
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
        ],
    ),
    change(
        "ec2:CreateVolume",
        &[
            "ec2:CreateVolume",
            "ec2:CreateTags",
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
        ],
    ),
    change("ec2:AttachVolume", &["ec2:AttachVolume"]),
    // RDS
    read("rds:DescribeDBInstances", &["rds:DescribeDBInstances"]),
    read("rds:DescribeDBSnapshots", &["rds:DescribeDBSnapshots"]),
    read(
        "rds:DescribeDBInstanceAutomatedBackups",
        &["rds:DescribeDBInstanceAutomatedBackups"],
    ),
    read(
        "rds:DescribeDBSubnetGroups",
        &["rds:DescribeDBSubnetGroups"],
    ),
    change(
        "rds:RestoreDBInstanceFromDBSnapshot",
        &[
            "rds:RestoreDBInstanceFromDBSnapshot",
            "rds:AddTagsToResource",
            "kms:CreateGrant",
            "kms:DescribeKey",
        ],
    ),
    change(
        "rds:RestoreDBInstanceToPointInTime",
        &[
            "rds:RestoreDBInstanceToPointInTime",
            "rds:AddTagsToResource",
            "kms:CreateGrant",
            "kms:DescribeKey",
        ],
    ),
    change("rds:PromoteReadReplica", &["rds:PromoteReadReplica"]),
    // DynamoDB
    read("dynamodb:DescribeTable", &["dynamodb:DescribeTable"]),
    read(
        "dynamodb:DescribeContinuousBackups",
        &["dynamodb:DescribeContinuousBackups"],
    ),
    read("dynamodb:ListBackups", &["dynamodb:ListBackups"]),
    read(
        "dynamodb:ListTagsOfResource",
        &["dynamodb:ListTagsOfResource"],
    ),
    change(
        "dynamodb:RestoreTableToPointInTime",
        &[
            "dynamodb:RestoreTableToPointInTime",
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey",
        ],
    ),
    change(
        "dynamodb:RestoreTableFromBackup",
        &[
            "dynamodb:RestoreTableFromBackup",
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey",
        ],
    ),
    change("dynamodb:TagResource", &["dynamodb:TagResource"]),
    // AWS Backup
    read(
        "backup:ListRecoveryPointsByBackupVault",
        &["backup:ListRecoveryPointsByBackupVault"],
    ),
    read(
        "backup:GetRecoveryPointRestoreMetadata",
        &["backup:GetRecoveryPointRestoreMetadata"],
    ),
    read("backup:ListRestoreJobs", &["backup:ListRestoreJobs"]),
    read("backup:DescribeRestoreJob", &["backup:DescribeRestoreJob"]),
    read(
        "backup:DescribeBackupVault",
        &["backup:DescribeBackupVault"],
    ),
    change(
        "backup:StartRestoreJob",
        &["backup:StartRestoreJob", "iam:PassRole"],
    ),
    // Global Accelerator
    read(
        "globalaccelerator:DescribeAccelerator",
        &["globalaccelerator:DescribeAccelerator"],
    ),
    read(
        "globalaccelerator:ListListeners",
        &["globalaccelerator:ListListeners"],
    ),
    read(
        "globalaccelerator:ListEndpointGroups",
        &["globalaccelerator:ListEndpointGroups"],
    ),
    read(
        "globalaccelerator:DescribeEndpointGroup",
        &["globalaccelerator:DescribeEndpointGroup"],
    ),
    change(
        "globalaccelerator:UpdateEndpointGroup",
        &["globalaccelerator:UpdateEndpointGroup"],
    ),
    // Route 53
    read(
        "route53:ListResourceRecordSets",
        &["route53:ListResourceRecordSets"],
    ),
    read("route53:GetChange", &["route53:GetChange"]),
    read("route53:GetHealthCheck", &["route53:GetHealthCheck"]),
    read(
        "route53:GetHealthCheckStatus",
        &["route53:GetHealthCheckStatus"],
    ),
    read("route53:GetHostedZone", &["route53:GetHostedZone"]),
    change(
        "route53:ChangeResourceRecordSets",
        &["route53:ChangeResourceRecordSets"],
    ),
    // CloudWatch
    read("cloudwatch:DescribeAlarms", &["cloudwatch:DescribeAlarms"]),
    // Redshift
    read("redshift:DescribeClusters", &["redshift:DescribeClusters"]),
    read(
        "redshift:DescribeClusterSnapshots",
        &["redshift:DescribeClusterSnapshots"],
    ),
    // An encrypted snapshot's new cluster needs its key.
    change(
        "redshift:RestoreFromClusterSnapshot",
        &[
            "redshift:RestoreFromClusterSnapshot",
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKeyWithoutPlaintext",
        ],
    ),
    // CloudFormation. The stack's own resources are made with the caller's permissions (no
    // service role is passed), which the template decides: `iam` cannot list them.
    read(
        "cloudformation:DescribeStacks",
        &["cloudformation:DescribeStacks"],
    ),
    read(
        "cloudformation:DescribeStackEvents",
        &["cloudformation:DescribeStackEvents"],
    ),
    read(
        "cloudformation:DescribeChangeSet",
        &["cloudformation:DescribeChangeSet"],
    ),
    // A change set changes no resource: it is the plan the gate shows.
    change(
        "cloudformation:CreateChangeSet",
        &["cloudformation:CreateChangeSet"],
    ),
    change(
        "cloudformation:ExecuteChangeSet",
        &["cloudformation:ExecuteChangeSet"],
    ),
    // SNS
    read("sns:GetTopicAttributes", &["sns:GetTopicAttributes"]),
    change("sns:Publish", &["sns:Publish"]),
    // AWS Health, STS, IAM
    read("health:DescribeEvents", &["health:DescribeEvents"]),
    read("sts:GetCallerIdentity", &[]),
    // Assuming a role changes nothing at AWS: it hands out credentials.
    read("sts:AssumeRole", &["sts:AssumeRole"]),
    read("iam:GetRole", &["iam:GetRole"]),
    read(
        "iam:SimulatePrincipalPolicy",
        &["iam:SimulatePrincipalPolicy"],
    ),
    // The team's state store in S3
    read("s3:GetObject", &["s3:GetObject"]),
    read("s3:ListObjectsV2", &["s3:ListBucket"]),
    read("s3:GetBucketVersioning", &["s3:GetBucketVersioning"]),
    read(
        "s3:GetObjectLockConfiguration",
        &["s3:GetBucketObjectLockConfiguration"],
    ),
    read("s3:GetBucketLocation", &["s3:GetBucketLocation"]),
    change("s3:PutObject", &["s3:PutObject"]),
    change("s3:DeleteObject", &["s3:DeleteObject"]),
];
