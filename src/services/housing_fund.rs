//! 3 公积金: the account (正常/封存, balance, monthly deposit personal + employer, base, last
//! deposit month, employer) and the 缴存证明 for a purpose — the records shape with no table.

use super::records::{Book, RecordsFlow};
use super::social_insurance::yuan;
use super::{IdentityNeed, Needs, ScreenCtx, ServiceSpec};
use crate::cloud::api::{DepositProofRequest, HousingFundAccount, HousingFundStatus, ProofPurpose};
use crate::cloud::{CloudClient, CloudError, ResidentToken};
use crate::time::Month;
use crate::view::{ColumnView, RowView};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "housing_fund",
    needs: Needs {
        identity: IdentityNeed::Required,
        prints: true,
        offline: false,
    },
    start: || Box::<RecordsFlow<HousingFund>>::default(),
    warm: None,
    upkeep: None,
};

pub struct HousingFund;

const PURPOSES: [(&str, &str, ProofPurpose); 4] = [
    ("loan", "hf.purpose.loan", ProofPurpose::Loan),
    ("rental", "hf.purpose.rental", ProofPurpose::Rental),
    ("transfer", "hf.purpose.transfer", ProofPurpose::Transfer),
    ("other", "hf.purpose.other", ProofPurpose::Other),
];

#[async_trait::async_trait]
impl Book for HousingFund {
    type Account = HousingFundAccount;
    type Row = ();
    type Request = DepositProofRequest;

    const SUMMARY: &'static str = "hf.summary";
    /// No records table: the proof is the document.
    const RECORDS: &'static str = "";
    const DOCUMENT: &'static str = "hf.proof";

    async fn account(cloud: &CloudClient, s: &ResidentToken) -> Result<Self::Account, CloudError> {
        cloud.housing_fund_account(s).await
    }

    async fn rows(
        _: &CloudClient,
        _: &ResidentToken,
        _: Month,
        _: Month,
    ) -> Result<Vec<Self::Row>, CloudError> {
        Ok(Vec::new())
    }

    fn summary(a: &Self::Account, _: &ScreenCtx<'_>) -> Vec<RowView> {
        let status = match a.status {
            HousingFundStatus::Normal => {
                RowView::with_unit("hf.row.status", "hf.status.normal", "key")
            }
            // 封存: no employer pays in; the resident may want to know why before a loan.
            HousingFundStatus::Sealed => {
                RowView::with_unit("hf.row.status", "hf.status.sealed", "key").warning()
            }
        };
        vec![
            status,
            RowView::new("hf.row.account", a.account_no_masked.clone()),
            RowView::with_unit("hf.row.balance", yuan(a.balance_fen), "yuan"),
            RowView::with_unit("hf.row.monthly", yuan(a.monthly_deposit_fen), "yuan"),
            RowView::with_unit("hf.row.personal", yuan(a.personal_deposit_fen), "yuan"),
            RowView::with_unit("hf.row.employer_part", yuan(a.employer_deposit_fen), "yuan"),
            RowView::with_unit("hf.row.base", yuan(a.base_fen), "yuan"),
            RowView::new("hf.row.last", a.last_deposit_month.clone()),
            RowView::new("hf.row.employer", a.employer.clone()),
        ]
    }

    fn columns() -> Vec<ColumnView> {
        Vec::new()
    }

    fn cells(_: &Self::Row, _: &ScreenCtx<'_>) -> Vec<String> {
        Vec::new()
    }

    fn total(_: &[Self::Row], _: &ScreenCtx<'_>) -> Vec<String> {
        Vec::new()
    }

    fn purposes() -> Vec<(&'static str, &'static str)> {
        PURPOSES.iter().map(|(id, key, _)| (*id, *key)).collect()
    }

    fn request(_: Option<(Month, Month)>, purpose: Option<&str>) -> Option<Self::Request> {
        let purpose = PURPOSES.iter().find(|(id, _, _)| Some(*id) == purpose)?.2;
        Some(DepositProofRequest { purpose })
    }
}
