//! 1 社保: where the resident stands in each 险种 (gaps called out), the month-by-month records
//! of a period, and the 参保证明 for a period — the records shape, configured.

use super::records::{Book, RecordsFlow};
use super::{IdentityNeed, Needs, ScreenCtx, ServiceSpec};
use crate::cloud::api::{
    CertificateKind, CertificateRequest, ContributionRecord, Scheme, SchemeStatus,
    SocialInsuranceSummary, Text,
};
use crate::cloud::{CloudClient, CloudError, ResidentToken};
use crate::time::Month;
use crate::view::{ColumnView, RowView};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "social_insurance",
    needs: Needs {
        identity: IdentityNeed::Required,
        prints: true,
        offline: false,
    },
    start: || Box::<RecordsFlow<SocialInsurance>>::default(),
    warm: None,
    upkeep: None,
};

pub struct SocialInsurance;

pub(super) fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

pub(super) fn status_key(s: SchemeStatus) -> &'static str {
    match s {
        SchemeStatus::Contributing => "si.status.contributing",
        SchemeStatus::Suspended => "si.status.suspended",
        SchemeStatus::Retired => "si.status.retired",
        SchemeStatus::NotInsured => "si.status.not_insured",
    }
}

fn scheme_name(s: Scheme) -> Text {
    let en = match s {
        Scheme::Pension => "Pension",
        Scheme::Medical => "Medical",
        Scheme::Unemployment => "Unemployment",
        Scheme::WorkInjury => "Work injury",
        Scheme::Maternity => "Maternity",
    };
    Text::new(&format!("{}保险", s.zh()), en)
}

#[async_trait::async_trait]
impl Book for SocialInsurance {
    type Account = SocialInsuranceSummary;
    type Row = ContributionRecord;
    type Request = CertificateRequest;

    const SUMMARY: &'static str = "si.summary";
    const RECORDS: &'static str = "si.records";
    const DOCUMENT: &'static str = "si.certificate";

    async fn account(cloud: &CloudClient, s: &ResidentToken) -> Result<Self::Account, CloudError> {
        cloud.social_insurance_summary(s).await
    }

    async fn rows(
        cloud: &CloudClient,
        s: &ResidentToken,
        from: Month,
        to: Month,
    ) -> Result<Vec<Self::Row>, CloudError> {
        let r = cloud
            .social_insurance_records(s, &from.to_string(), &to.to_string())
            .await?;
        Ok(r.records)
    }

    fn summary(a: &Self::Account, s: &ScreenCtx<'_>) -> Vec<RowView> {
        let mut rows = vec![RowView::with_unit(
            "si.row.status",
            status_key(a.status),
            "key",
        )];
        // 断缴 first, where it is seen without scrolling: months without contributions, which the
        // resident may want to make up.
        for g in &a.gaps {
            let span = if g.from == g.to {
                g.from.clone()
            } else {
                format!("{} — {}", g.from, g.to)
            };
            rows.push(RowView::new("si.row.gap", span).warning());
        }
        for standing in &a.schemes {
            rows.push(RowView::with_unit(
                s.text(&scheme_name(standing.scheme)),
                status_key(standing.status),
                "key",
            ));
        }
        rows.extend([
            RowView::with_unit("si.row.months", a.contribution_months.to_string(), "months"),
            RowView::with_unit(
                "si.row.pension_account",
                yuan(a.pension_account_fen),
                "yuan",
            ),
            RowView::with_unit("si.row.base", yuan(a.monthly_base_fen), "yuan"),
            RowView::new("si.row.employer", a.employer.clone()),
            RowView::new("si.row.place", a.insured_place.clone()),
            RowView::new("si.row.last_paid", a.last_paid_month.clone()),
        ]);
        rows
    }

    fn columns() -> Vec<ColumnView> {
        let c = ColumnView::new;
        // Month and 险种 over the employer, in one cell: six columns do not fit a portrait
        // screen in 长辈模式.
        vec![
            c("si.col.what", false, 10),
            c("si.col.base", true, 4),
            c("si.col.personal", true, 4),
            c("si.col.employer_paid", true, 4),
        ]
    }

    fn cells(r: &Self::Row, s: &ScreenCtx<'_>) -> Vec<String> {
        vec![
            format!(
                "{} · {}{}{}",
                r.month,
                s.text(&scheme_name(r.scheme)),
                s.cell_break(),
                r.employer
            ),
            yuan(r.base_fen),
            yuan(r.personal_fen),
            yuan(r.employer_fen),
        ]
    }

    fn total(rows: &[Self::Row], s: &ScreenCtx<'_>) -> Vec<String> {
        let personal: i64 = rows.iter().map(|r| r.personal_fen).sum();
        let employer: i64 = rows.iter().map(|r| r.employer_fen).sum();
        vec![
            s.text(&Text::new("合计", "Total")).to_string(),
            String::new(),
            yuan(personal),
            yuan(employer),
        ]
    }

    fn request(period: Option<(Month, Month)>, _: Option<&str>) -> Option<Self::Request> {
        let (from, to) = period?;
        Some(CertificateRequest {
            kind: CertificateKind::Participation,
            from: from.to_string(),
            to: to.to_string(),
        })
    }
}
