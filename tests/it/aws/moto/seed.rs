use super::*;

/// The SDK clients the tests seed moto with and check it through (not pilotlight's).
pub(crate) struct Moto {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) ddb: aws_sdk_dynamodb::Client,
    pub(crate) r53: aws_sdk_route53::Client,
}

impl Moto {
    pub(crate) async fn new(region: &str) -> Moto {
        let cfg = sdk(region).await;
        Moto {
            ec2: aws_sdk_ec2::Client::new(&cfg),
            rds: aws_sdk_rds::Client::new(&cfg),
            ddb: aws_sdk_dynamodb::Client::new(&cfg),
            r53: aws_sdk_route53::Client::new(&cfg),
        }
    }

    /// One of the AMIs moto ships.
    pub(crate) async fn any_ami(&self) -> String {
        let out = self.ec2.describe_images().send().await.unwrap();
        out.images()
            .iter()
            .find_map(|i| i.image_id())
            .expect("moto ships default AMIs")
            .to_string()
    }

    pub(crate) async fn subnet(&self, az: &str) -> String {
        let out = self
            .ec2
            .describe_subnets()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("availability-zone")
                    .values(az)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.subnets()
            .iter()
            .find(|s| s.default_for_az() == Some(true))
            .or_else(|| out.subnets().first())
            .and_then(|s| s.subnet_id())
            .expect("moto has a default subnet per AZ")
            .to_string()
    }

    pub(crate) async fn run_instances(&self, n: i32, name: &str) -> Vec<String> {
        let ami = self.any_ami().await;
        let subnet = self.subnet(AZ).await;
        let out = self
            .ec2
            .run_instances()
            .image_id(ami)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .subnet_id(subnet)
            .min_count(n)
            .max_count(n)
            .tag_specifications(
                aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                    .tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key("Name")
                            .value(name)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.instances()
            .iter()
            .map(|i| i.instance_id().unwrap().to_string())
            .collect()
    }

    pub(crate) async fn instance(&self, id: &str) -> aws_sdk_ec2::types::Instance {
        let out = self
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .unwrap();
        out.reservations()[0].instances()[0].clone()
    }

    pub(crate) async fn instances_tagged(
        &self,
        key: &str,
        value: &str,
    ) -> Vec<aws_sdk_ec2::types::Instance> {
        let out = self
            .ec2
            .describe_instances()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name(format!("tag:{key}"))
                    .values(value)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .cloned()
            .collect()
    }

    pub(crate) async fn volume(&self) -> String {
        let out = self
            .ec2
            .create_volume()
            .availability_zone(AZ)
            .size(8)
            .send()
            .await
            .unwrap();
        out.volume_id().unwrap().to_string()
    }

    /// A snapshot of `volume`, with its start time as moto's DescribeSnapshots reports it.
    pub(crate) async fn snapshot(&self, volume: &str) -> (String, DateTime<Utc>) {
        let id = self
            .ec2
            .create_snapshot()
            .volume_id(volume)
            .send()
            .await
            .unwrap()
            .snapshot_id()
            .unwrap()
            .to_string();
        let out = self
            .ec2
            .describe_snapshots()
            .snapshot_ids(&id)
            .send()
            .await
            .unwrap();
        let at = sdk_time(out.snapshots()[0].start_time().unwrap());
        (id, at)
    }

    pub(crate) async fn volumes_where(
        &self,
        name: &str,
        value: &str,
    ) -> Vec<aws_sdk_ec2::types::Volume> {
        let out = self
            .ec2
            .describe_volumes()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name(name)
                    .values(value)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.volumes().to_vec()
    }

    pub(crate) async fn db(&self, id: &str) {
        self.rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("pilot")
            .master_user_password("not-a-secret-1")
            .send()
            .await
            .unwrap();
    }

    /// A manual snapshot of `db`, with its time as moto's DescribeDBSnapshots reports it.
    pub(crate) async fn db_snapshot(&self, db: &str, id: &str) -> DateTime<Utc> {
        self.rds
            .create_db_snapshot()
            .db_instance_identifier(db)
            .db_snapshot_identifier(id)
            .send()
            .await
            .unwrap();
        let out = self
            .rds
            .describe_db_snapshots()
            .db_snapshot_identifier(id)
            .send()
            .await
            .unwrap();
        sdk_time(out.db_snapshots()[0].snapshot_create_time().unwrap())
    }

    pub(crate) async fn dbs(&self) -> Vec<aws_sdk_rds::types::DbInstance> {
        let pages = self
            .rds
            .describe_db_instances()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .unwrap();
        pages
            .into_iter()
            .flat_map(|p| p.db_instances.unwrap_or_default())
            .collect()
    }

    pub(crate) async fn table(&self, name: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        self.ddb
            .create_table()
            .table_name(name)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
        self.ddb
            .put_item()
            .table_name(name)
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("order-1".into()),
            )
            .send()
            .await
            .unwrap();
    }

    /// Turns on PITR; returns the latest restorable time moto reports.
    pub(crate) async fn enable_pitr(&self, table: &str) -> DateTime<Utc> {
        self.ddb
            .update_continuous_backups()
            .table_name(table)
            .point_in_time_recovery_specification(
                aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let out = self
            .ddb
            .describe_continuous_backups()
            .table_name(table)
            .send()
            .await
            .unwrap();
        let at = out
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.latest_restorable_date_time())
            .expect("moto reports a latest restorable time once PITR is on");
        sdk_time(at)
    }

    /// An on-demand backup; its ARN and creation time as moto's DescribeBackup reports them.
    pub(crate) async fn backup(&self, table: &str) -> (String, DateTime<Utc>) {
        let arn = self
            .ddb
            .create_backup()
            .table_name(table)
            .backup_name(format!("{table}-bk"))
            .send()
            .await
            .unwrap()
            .backup_details()
            .unwrap()
            .backup_arn()
            .to_string();
        let out = self
            .ddb
            .describe_backup()
            .backup_arn(&arn)
            .send()
            .await
            .unwrap();
        let at = out
            .backup_description()
            .and_then(|d| d.backup_details())
            .map(|d| sdk_time(d.backup_creation_date_time()))
            .unwrap();
        (arn, at)
    }

    pub(crate) async fn has_item(&self, table: &str) -> bool {
        let out = self
            .ddb
            .get_item()
            .table_name(table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("order-1".into()),
            )
            .send()
            .await
            .unwrap();
        out.item().is_some()
    }

    /// A hosted zone with `name` weighted A records: blue (weight 100) and green (weight 0).
    pub(crate) async fn weighted_zone(&self, zone: &str, name: &str) -> String {
        use aws_sdk_route53::types::{
            Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
        };
        let out = self
            .r53
            .create_hosted_zone()
            .name(zone)
            .caller_reference(unique("ref"))
            .send()
            .await
            .unwrap();
        let id = out
            .hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string();
        let set = |sid: &str, weight: i64, ip: &str| {
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(
                    ResourceRecordSet::builder()
                        .name(name)
                        .r#type(RrType::A)
                        .set_identifier(sid)
                        .weight(weight)
                        .ttl(60)
                        .resource_records(ResourceRecord::builder().value(ip).build().unwrap())
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        };
        self.r53
            .change_resource_record_sets()
            .hosted_zone_id(&id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(set("blue", 100, "10.0.0.1"))
                    .changes(set("green", 0, "10.0.0.2"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        id
    }

    /// Weight by set identifier of the records named `name`.
    pub(crate) async fn weights(&self, zone: &str, name: &str) -> BTreeMap<String, i64> {
        let out = self
            .r53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .send()
            .await
            .unwrap();
        out.resource_record_sets()
            .iter()
            .filter(|s| s.name().trim_end_matches('.') == name.trim_end_matches('.'))
            .filter_map(|s| Some((s.set_identifier()?.to_string(), s.weight()?)))
            .collect()
    }
}
