//! 6 排队取号: pick the business (with people waiting and the expected wait), optionally put a
//! card on the reader for elderly priority, confirm, get the ticket, and the ticket prints.

use super::shapes::{NotAnswered, Pending};
use super::{
    Ctx, IdentityNeed, Input, Needs, Next, Notice, Paper, ScreenCtx, Service, ServiceSpec,
};
use crate::cloud::api::{HallQueue, Priority, QueueTicket, QueueTicketRequest};
use crate::printing::templates;
use crate::session::PageId;
use crate::time::short_time;
use crate::view::{ChoiceView, FlowView, IdentifyMode, ResultKind, RowView};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "queue_and_cases",
    needs: Needs {
        identity: IdentityNeed::Optional,
        prints: true,
        offline: false,
    },
    start: || Box::<QueueFlow>::default(),
    warm: None,
    upkeep: None,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// What 重试 does again.
enum Redo {
    Load,
    Issue,
}

#[derive(Debug, Default)]
pub struct QueueFlow {
    queues: Vec<HallQueue>,
    chosen: Option<HallQueue>,
    priority: Option<Priority>,
    /// The ticket request: its Idempotency-Key is kept across retries, so a ticket the cloud
    /// issued but whose answer was lost is returned, not issued twice.
    submission: Pending<QueueTicketRequest>,
    ticket: Option<QueueTicket>,
    failed: Option<Redo>,
    notice: Option<Notice>,
    paper: Paper,
}

#[async_trait::async_trait]
impl Service for QueueFlow {
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next {
        match input {
            Input::Open => self.open(ctx).await,
            Input::Choose(id) => self.choose(ctx, &id),
            Input::Identified | Input::SkipIdentify if self.chosen.is_some() => {
                let elderly =
                    input == Input::Identified && ctx.resident.is_some_and(|r| r.summary.elderly);
                self.priority = Some(if elderly {
                    Priority::Elderly
                } else {
                    Priority::Normal
                });
                Next::Replace(PageId::Confirm)
            }
            Input::Confirm => self.confirm(ctx).await,
            Input::Retry => match self.failed {
                Some(Redo::Load) => self.open(ctx).await,
                Some(Redo::Issue) => self.confirm(ctx).await,
                None => Next::Stay,
            },
            Input::Print => {
                self.paper.reprint(ctx.printer);
                Next::Stay
            }
            other => other.ignored(),
        }
    }

    fn identity_ended(&mut self) -> bool {
        if self.ticket.is_some() {
            // The ticket is out: pulling the card means "done".
            return false;
        }
        // Elderly priority was the card's; a ticket not yet issued becomes a standard one.
        if self.priority == Some(Priority::Elderly) {
            self.priority = Some(Priority::Normal);
            self.submission = Pending::default();
        }
        true
    }

    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
        v.identify.mode = IdentifyMode::Optional;
        v.identify.hint = "identify.hint.queue".into();
        v.identify.skip = "identify.skip.queue".into();
        v.form.title = "queue.pick".into();
        v.form.hint = "queue.pick.hint".into();
        v.form.choices = self
            .queues
            .iter()
            .map(|q| ChoiceView {
                waiting: Some((q.waiting, q.estimated_wait_min)),
                ..ChoiceView::new(q.business.clone(), s.text(&q.name))
            })
            .collect();
        if let (Some(q), Some(priority)) = (&self.chosen, self.priority) {
            let priority = if priority == Priority::Elderly {
                "priority.elderly"
            } else {
                "priority.normal"
            };
            v.confirm.title = "queue.confirm".into();
            v.confirm.rows = vec![
                RowView::new("business", s.text(&q.name)),
                RowView::with_unit("waiting", q.waiting.to_string(), "people"),
                RowView::with_unit("wait_time", q.estimated_wait_min.to_string(), "minutes"),
                RowView::with_unit("priority", priority, "key"),
            ];
            if let Some(r) = s.resident {
                v.confirm
                    .rows
                    .push(RowView::new("resident", r.name_masked.clone()));
            }
        }
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
        } else if let (Some(q), Some(t)) = (&self.chosen, &self.ticket) {
            let r = &mut v.result;
            r.kind = ResultKind::Success;
            r.title = "queue.ticket".into();
            r.headline = t.ticket_no.clone();
            r.rate = t.ticket_no.clone();
            r.spoken = Some(crate::view::SpokenResult::Ticket {
                number: t.ticket_no.clone(),
                ahead: t.waiting_ahead,
            });
            // Priority moves an older resident ahead of the people waiting: say so.
            r.message = if self.priority == Some(Priority::Elderly) {
                "queue.ticket.priority.msg"
            } else {
                "queue.ticket.msg"
            }
            .into();
            r.rows = vec![
                RowView::new("business", s.text(&q.name)),
                RowView::with_unit("ahead", t.waiting_ahead.to_string(), "people"),
                RowView::with_unit("wait_time", t.estimated_wait_min.to_string(), "minutes"),
                RowView::new("issued_at", short_time(&t.issued_at)),
            ];
            self.paper.show(&mut v);
        }
        v
    }
}

impl QueueFlow {
    async fn open(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match ctx.cloud.hall_queues(&ctx.site.hall_id).await {
            Ok(queues) => {
                self.failed = None;
                self.notice = None;
                self.queues = queues;
                Next::Go(PageId::Form)
            }
            Err(e) => self.fail(Redo::Load, Notice::cloud(&e)),
        }
    }

    fn fail(&mut self, redo: Redo, notice: Notice) -> Next {
        self.failed = Some(redo);
        self.notice = Some(notice);
        Next::Go(PageId::Result)
    }

    fn choose(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Next {
        let Some(q) = self.queues.iter().find(|q| q.business == id).cloned() else {
            return Next::Stay;
        };
        if self.chosen.as_ref().map(|c| &c.business) != Some(&q.business) {
            self.submission = Pending::default();
        }
        self.chosen = Some(q);
        self.priority = None;
        match ctx.resident {
            Some(r) => {
                self.priority = Some(if r.summary.elderly {
                    Priority::Elderly
                } else {
                    Priority::Normal
                });
                Next::Go(PageId::Confirm)
            }
            None => Next::Identify { optional: true },
        }
    }

    async fn confirm(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.ticket.is_some() {
            // Already issued: a second tap never takes a second number.
            return Next::Replace(PageId::Result);
        }
        let (Some(q), Some(priority)) = (self.chosen.clone(), self.priority) else {
            return Next::Stay;
        };
        let session = if priority == Priority::Elderly {
            ctx.resident.map(|r| &r.token)
        } else {
            None
        };
        let request = QueueTicketRequest {
            hall_id: ctx.site.hall_id.clone(),
            business: q.business.clone(),
            priority,
        };
        let delivered = self
            .submission
            .deliver(ctx.outbox, ctx.cloud, &request, session)
            .await;
        match delivered {
            Ok(ticket) => {
                self.failed = None;
                self.notice = None;
                let receipt = templates::queue_ticket(ctx.site, &ticket, &q.name, priority, false);
                self.paper.print(ctx, receipt, &ticket.ticket_no);
                self.ticket = Some(ticket);
                Next::Go(PageId::Result)
            }
            // A refusal is final; the next attempt is a new request.
            Err(NotAnswered::Refused(n)) => {
                self.failed = None;
                self.notice = Some(n);
                Next::Go(PageId::Result)
            }
            Err(other) => self.fail(Redo::Issue, other.notice()),
        }
    }
}
