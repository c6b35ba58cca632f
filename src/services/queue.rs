//! 6 排队取号: pick the business (with people waiting and the expected wait), optionally put a
//! card on the reader for elderly priority, confirm, get the ticket, and the ticket prints.

use super::{short_time, show_cloud_error, Ctx, Next};
use crate::cloud::api::{HallQueue, Priority, QueueTicket, QueueTicketRequest};
use crate::cloud::CloudError;
use crate::outbox::Outcome;
use crate::printing::templates;
use crate::session::PageId;
use crate::view::{ChoiceView, ResultKind, RowView};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Load,
    Issue,
}

#[derive(Debug, Default)]
pub struct QueueFlow {
    queues: Vec<HallQueue>,
    chosen: Option<HallQueue>,
    priority: Option<Priority>,
    /// The outbox entry of the ticket being requested: its Idempotency-Key is kept across
    /// retries, so a ticket the cloud issued but whose answer was lost is returned, not issued twice.
    entry: Option<i64>,
    ticket: Option<QueueTicket>,
    failed: Option<Pending>,
}

impl QueueFlow {
    pub async fn open(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match ctx.cloud.hall_queues(&ctx.site.hall_id).await {
            Ok(queues) => {
                self.failed = None;
                self.queues = queues;
                self.fill_choices(ctx);
                Next::Go(PageId::Form)
            }
            Err(e) => {
                self.failed = Some(Pending::Load);
                show_cloud_error(ctx.view, &e)
            }
        }
    }

    fn fill_choices(&self, ctx: &mut Ctx<'_>) {
        ctx.view.form_title = "queue.pick".into();
        ctx.view.form_hint = "queue.pick.hint".into();
        ctx.view.choices = self
            .queues
            .iter()
            .map(|q| ChoiceView {
                id: q.business.clone(),
                title: ctx.text(&q.name).to_string(),
                enabled: true,
                waiting: Some((q.waiting, q.estimated_wait_min)),
                ..Default::default()
            })
            .collect();
    }

    pub async fn choose(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Next {
        let Some(q) = self.queues.iter().find(|q| q.business == id).cloned() else {
            return Next::Stay;
        };
        if self.chosen.as_ref().map(|c| &c.business) != Some(&q.business) {
            self.entry = None;
        }
        self.chosen = Some(q);
        match ctx.resident {
            Some(r) => {
                self.priority = Some(if r.summary.elderly {
                    Priority::Elderly
                } else {
                    Priority::Normal
                });
                self.fill_confirm(ctx);
                Next::Go(PageId::Confirm)
            }
            None => Next::Identify { optional: true },
        }
    }

    pub async fn identified(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.chosen.is_none() {
            return Next::Stay;
        }
        let elderly = ctx.resident.is_some_and(|r| r.summary.elderly);
        self.priority = Some(if elderly {
            Priority::Elderly
        } else {
            Priority::Normal
        });
        self.fill_confirm(ctx);
        Next::Replace(PageId::Confirm)
    }

    pub async fn skip_identify(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.chosen.is_none() {
            return Next::Stay;
        }
        self.priority = Some(Priority::Normal);
        self.fill_confirm(ctx);
        Next::Replace(PageId::Confirm)
    }

    fn fill_confirm(&self, ctx: &mut Ctx<'_>) {
        let Some(q) = &self.chosen else { return };
        let priority = if self.priority == Some(Priority::Elderly) {
            "priority.elderly"
        } else {
            "priority.normal"
        };
        let mut rows = vec![
            RowView::new("business", ctx.text(&q.name)),
            RowView::with_unit("waiting", q.waiting.to_string(), "people"),
            RowView::with_unit("wait_time", q.estimated_wait_min.to_string(), "minutes"),
            RowView::with_unit("priority", priority, "key"),
        ];
        if let Some(r) = ctx.resident {
            rows.push(RowView::new("resident", r.summary.name_masked.clone()));
        }
        ctx.view.confirm_title = "queue.confirm".into();
        ctx.view.confirm_rows = rows;
    }

    pub async fn confirm(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.ticket.is_some() {
            // Already issued: a second tap never takes a second number.
            return Next::Replace(PageId::Result);
        }
        let (Some(q), Some(priority)) = (self.chosen.clone(), self.priority) else {
            return Next::Stay;
        };
        let req = QueueTicketRequest {
            hall_id: ctx.site.hall_id.clone(),
            business: q.business.clone(),
            priority,
        };
        let session = if priority == Priority::Elderly {
            ctx.resident.map(|r| &r.token)
        } else {
            None
        };
        let id = match self.entry {
            Some(id) => id,
            None => match ctx.outbox.enqueue_ticket(&req, session) {
                Ok(queued) => {
                    self.entry = Some(queued.id);
                    queued.id
                }
                Err(e) => {
                    tracing::error!(error = %e, "ticket request could not be stored");
                    super::show_error(ctx.view, "error.storage", "error.storage.msg", true);
                    self.failed = Some(Pending::Issue);
                    return Next::Go(PageId::Result);
                }
            },
        };
        let outcome = ctx.outbox.deliver_entry(ctx.cloud, id).await;
        match outcome {
            Some(Outcome::Delivered(v)) => match serde_json::from_value::<QueueTicket>(v) {
                Ok(ticket) => {
                    self.failed = None;
                    self.fill_ticket(ctx, &q, &ticket);
                    let receipt =
                        templates::queue_ticket(ctx.site, &ticket, &q.name, priority, false);
                    self.ticket = Some(ticket);
                    ctx.print(&receipt);
                    Next::Go(PageId::Result)
                }
                Err(e) => {
                    self.failed = Some(Pending::Issue);
                    show_cloud_error(ctx.view, &CloudError::Malformed(e.to_string()))
                }
            },
            Some(Outcome::Later(e)) => {
                self.failed = Some(Pending::Issue);
                show_cloud_error(ctx.view, &e)
            }
            Some(Outcome::Refused { error, code }) => {
                // Final: a new attempt (e.g. a standard ticket instead of priority) is a new entry.
                self.entry = None;
                self.failed = None;
                match error {
                    Some(e) => show_cloud_error(ctx.view, &e),
                    None => {
                        tracing::warn!(%code, "ticket request refused");
                        super::show_error(ctx.view, "error.refused", "error.refused.msg", false);
                        Next::Go(PageId::Result)
                    }
                }
            }
            None => {
                self.failed = Some(Pending::Issue);
                super::show_error(ctx.view, "error.storage", "error.storage.msg", true);
                Next::Go(PageId::Result)
            }
        }
    }

    fn fill_ticket(&self, ctx: &mut Ctx<'_>, q: &HallQueue, t: &QueueTicket) {
        let v = &mut *ctx.view;
        v.result_kind = ResultKind::Success;
        v.result_title = "queue.ticket".into();
        v.result_headline = t.ticket_no.clone();
        v.result_message = "queue.ticket.msg".into();
        v.result_rows = vec![
            RowView::new("business", q.name.get(ctx.lang)),
            RowView::with_unit("ahead", t.waiting_ahead.to_string(), "people"),
            RowView::with_unit("wait_time", t.estimated_wait_min.to_string(), "minutes"),
            RowView::new("issued_at", short_time(&t.issued_at)),
        ];
        v.can_retry = false;
    }

    pub async fn retry(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match self.failed {
            Some(Pending::Load) => self.open(ctx).await,
            Some(Pending::Issue) => self.confirm(ctx).await,
            None => Next::Stay,
        }
    }

    /// Prints the ticket again after a failed print (the resident pressed "print").
    pub async fn print(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let (Some(q), Some(t), Some(p)) = (&self.chosen, &self.ticket, self.priority) else {
            return Next::Stay;
        };
        let receipt = templates::queue_ticket(ctx.site, t, &q.name, p, false);
        ctx.print(&receipt);
        Next::Stay
    }

    /// The language changed: names from the cloud are shown again in the new language.
    pub fn relabel(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if !self.queues.is_empty() {
            self.fill_choices(ctx);
        }
        if self.chosen.is_some() && self.priority.is_some() {
            self.fill_confirm(ctx);
        }
        if let (Some(q), Some(t)) = (&self.chosen, &self.ticket) {
            self.fill_ticket(ctx, q, t);
        }
        Next::Stay
    }
}
