//! 2 医保: the account (balance, insured type, 参保地, this year's outpatient pool), the
//! transactions of a period, and the 医保个人账户对账单 for a period — the records shape,
//! configured.

use super::records::{Book, RecordsFlow};
use super::social_insurance::yuan;
use super::{IdentityNeed, Needs, ScreenCtx, ServiceSpec};
use crate::cloud::api::{
    MedicalAccount, MedicalInsuredType, MedicalKind, MedicalTransaction, StatementRequest, Text,
};
use crate::cloud::{CloudClient, CloudError, ResidentToken};
use crate::time::Month;
use crate::view::{ColumnView, RowView};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "medical_insurance",
    needs: Needs {
        identity: IdentityNeed::Required,
        prints: true,
        offline: false,
    },
    start: || Box::<RecordsFlow<MedicalInsurance>>::default(),
    warm: None,
    upkeep: None,
};

pub struct MedicalInsurance;

fn kind_name(k: MedicalKind) -> Text {
    match k {
        MedicalKind::Outpatient => Text::new("门诊", "Outpatient"),
        MedicalKind::Inpatient => Text::new("住院", "Inpatient"),
        MedicalKind::Pharmacy => Text::new("药店购药", "Pharmacy"),
    }
}

#[async_trait::async_trait]
impl Book for MedicalInsurance {
    type Account = MedicalAccount;
    type Row = MedicalTransaction;
    type Request = StatementRequest;

    const SUMMARY: &'static str = "mi.summary";
    const RECORDS: &'static str = "mi.records";
    const DOCUMENT: &'static str = "mi.statement";

    async fn account(cloud: &CloudClient, s: &ResidentToken) -> Result<Self::Account, CloudError> {
        cloud.medical_account(s).await
    }

    async fn rows(
        cloud: &CloudClient,
        s: &ResidentToken,
        from: Month,
        to: Month,
    ) -> Result<Vec<Self::Row>, CloudError> {
        let r = cloud
            .medical_transactions(s, &from.to_string(), &to.to_string())
            .await?;
        Ok(r.transactions)
    }

    fn summary(a: &Self::Account, _: &ScreenCtx<'_>) -> Vec<RowView> {
        let insured = match a.insured_type {
            MedicalInsuredType::Employee => "mi.type.employee",
            MedicalInsuredType::RetiredEmployee => "mi.type.retired",
            MedicalInsuredType::Resident => "mi.type.resident",
        };
        let remaining = (a.outpatient_pool_limit_fen - a.outpatient_pool_used_fen).max(0);
        let mut rows = vec![
            RowView::with_unit("mi.row.type", insured, "key"),
            RowView::with_unit("mi.row.balance", yuan(a.balance_fen), "yuan"),
            RowView::new("mi.row.place", a.insured_place.clone()),
            RowView::with_unit("mi.row.credited", yuan(a.year_credited_fen), "yuan"),
            RowView::with_unit("mi.row.spent", yuan(a.year_spent_fen), "yuan"),
            RowView::with_unit("mi.row.pool_used", yuan(a.outpatient_pool_used_fen), "yuan"),
            RowView::with_unit("mi.row.pool_left", yuan(remaining), "yuan"),
        ];
        if a.status != "active" {
            rows.insert(
                0,
                RowView::with_unit("mi.row.status", "mi.status.suspended", "key").warning(),
            );
        }
        rows
    }

    fn columns() -> Vec<ColumnView> {
        let c = ColumnView::new;
        // Date and kind over the institution, in one cell (see social insurance).
        vec![
            c("mi.col.what", false, 10),
            c("mi.col.total", true, 4),
            c("mi.col.fund", true, 4),
            c("mi.col.self", true, 4),
        ]
    }

    fn cells(t: &Self::Row, s: &ScreenCtx<'_>) -> Vec<String> {
        vec![
            format!(
                "{} · {}{}{}",
                crate::time::date_of(&t.time),
                s.text(&kind_name(t.kind)),
                s.cell_break(),
                t.institution
            ),
            yuan(t.total_fen),
            yuan(t.fund_paid_fen),
            yuan(t.self_paid_fen),
        ]
    }

    fn total(rows: &[Self::Row], s: &ScreenCtx<'_>) -> Vec<String> {
        let sum = |f: fn(&MedicalTransaction) -> i64| yuan(rows.iter().map(f).sum());
        vec![
            s.text(&Text::new("合计", "Total")).to_string(),
            sum(|t| t.total_fen),
            sum(|t| t.fund_paid_fen),
            sum(|t| t.self_paid_fen),
        ]
    }

    fn request(period: Option<(Month, Month)>, _: Option<&str>) -> Option<Self::Request> {
        let (from, to) = period?;
        Some(StatementRequest {
            from: from.to_string(),
            to: to.to_string(),
        })
    }
}
