//! Enrolling a kiosk with the cloud (`POST /v1/devices/enroll`): the one piece that turns an
//! enrolment code into a device id, token and site kept in the kiosk's database. Technicians'
//! provisioning and the demo and scenario assembly (which enrol on first start) both use it.

use crate::cloud::api::EnrollRequest;
use crate::cloud::{CloudClient, CloudError};
use crate::config::Config;
use crate::storage::{Enrollment, StorageError, Store};

/// Why an enrolment did not happen, with what a technician should check.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// The cloud does not know the code (`invalid_enrollment_code`).
    #[error("the enrollment code was refused by the cloud: {code} is not a valid code")]
    UnknownCode { code: String },
    /// The code enrolled a kiosk before (`enrollment_code_used`): codes are single-use.
    #[error("the enrollment code {code} has already been used: {title}")]
    CodeUsed { code: String, title: String },
    #[error("enrolment failed: {0}")]
    Cloud(CloudError),
    #[error("the enrolment could not be stored: {0}")]
    Storage(#[from] StorageError),
}

impl EnrolError {
    /// What to check, for a technician.
    /// The problem code the screens translate (see `selftest::Check::problem`).
    pub fn problem(&self) -> &'static str {
        match self {
            EnrolError::UnknownCode { .. } => "enrol.unknown_code",
            EnrolError::CodeUsed { .. } => "enrol.code_used",
            EnrolError::Cloud(CloudError::Unreachable(_) | CloudError::Timeout(_)) => {
                "cloud.unreachable"
            }
            EnrolError::Cloud(_) => "cloud.refused",
            EnrolError::Storage(_) => "storage.failed",
        }
    }

    pub fn hint(&self) -> String {
        match self {
            EnrolError::UnknownCode { .. } => {
                "check the code on the work order (codes are case-sensitive) and that --cloud is this street office's cloud".into()
            }
            EnrolError::CodeUsed { .. } => {
                "each code enrols one kiosk once. If this kiosk was enrolled with it and its data folder was wiped since, \
                 ask the street office for a new code; if another kiosk used it, that kiosk is the enrolled one".into()
            }
            EnrolError::Cloud(CloudError::Unreachable(_) | CloudError::Timeout(_)) => {
                "check the network cable or Wi-Fi, DNS, any proxy, and the cloud URL (--cloud / cloud.url)".into()
            }
            EnrolError::Cloud(_) => "the cloud answered something unexpected: check the cloud URL and try again; if it persists, tell the street office".into(),
            EnrolError::Storage(_) => "check the data folder (--data-dir): it must be writable and on a disk with free space".into(),
        }
    }
}

/// Enrols with `code` and stores the enrolment (device id, token, site) in `store`, recording
/// it in the audit log (without the token).
pub async fn enrol_with_code(
    cloud: &CloudClient,
    store: &Store,
    config: &Config,
    code: &str,
) -> Result<Enrollment, EnrolError> {
    let resp = cloud
        .enroll(&EnrollRequest {
            enrollment_code: code.into(),
            serial: config.kiosk.serial.clone(),
            model: config.kiosk.model.clone(),
        })
        .await
        .map_err(|e| match e {
            CloudError::Problem(p) if p.code == "invalid_enrollment_code" => {
                EnrolError::UnknownCode { code: code.into() }
            }
            CloudError::Problem(p) if p.code == "enrollment_code_used" => EnrolError::CodeUsed {
                code: code.into(),
                title: p.title,
            },
            other => EnrolError::Cloud(other),
        })?;
    let e = Enrollment {
        device_id: resp.device_id,
        device_token: resp.device_token,
        site: resp.site,
    };
    store.save_enrollment(&e)?;
    store.audit("enrolled", &e.device_id)?;
    tracing::info!(device_id = %e.device_id, hall = %e.site.hall_id, "kiosk enrolled");
    Ok(e)
}
