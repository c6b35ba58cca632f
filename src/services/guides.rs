//! 办事指南: what each matter needs and where it is handled. No card needed.

use super::{Ctx, IdentityNeed, Input, Needs, Next, Notice, ScreenCtx, Service, ServiceSpec};
use crate::cloud::api::Guide;
use crate::session::PageId;
use crate::view::{ChoiceView, FlowView, ResultKind, RowView};
use crate::Lang;

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "guides",
    needs: Needs {
        identity: IdentityNeed::None,
        prints: false,
        offline: false,
    },
    start: || Box::<GuidesFlow>::default(),
    warm: None,
    upkeep: None,
};

#[derive(Debug, Default)]
pub struct GuidesFlow {
    guides: Vec<Guide>,
    chosen: Option<usize>,
    notice: Option<Notice>,
}

#[async_trait::async_trait]
impl Service for GuidesFlow {
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next {
        match input {
            Input::Open | Input::Retry => match ctx.cloud.guides("").await {
                Ok(list) => {
                    self.notice = None;
                    self.guides = list.guides;
                    Next::Go(PageId::Form)
                }
                Err(e) => {
                    self.notice = Some(Notice::cloud(&e));
                    Next::Go(PageId::Result)
                }
            },
            Input::Choose(id) => match self.guides.iter().position(|g| g.id == id) {
                Some(i) => {
                    self.chosen = Some(i);
                    Next::Go(PageId::Result)
                }
                None => Next::Stay,
            },
            other => other.ignored(),
        }
    }

    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
        v.form.title = "guides.pick".into();
        v.form.hint = "guides.hint".into();
        v.form.choices = self
            .guides
            .iter()
            .map(|g| ChoiceView {
                detail: s.text(&g.summary).into(),
                ..ChoiceView::new(g.id.clone(), s.text(&g.title))
            })
            .collect();
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
        } else if let Some(g) = self.chosen.and_then(|i| self.guides.get(i)) {
            let materials: Vec<&str> = g.materials.iter().map(|m| s.text(m)).collect();
            let sep = if s.lang == Lang::Zh { "、" } else { ", " };
            let r = &mut v.result;
            r.kind = ResultKind::Info;
            // Data titles pass through the UI's key lookup unchanged.
            r.title = s.text(&g.title).into();
            r.rows = vec![
                RowView::new("summary", s.text(&g.summary)),
                RowView::new("materials", materials.join(sep)),
                RowView::new(
                    "window",
                    match (s.lang, &g.window_en) {
                        (Lang::En, Some(en)) => en.clone(),
                        _ => g.window.clone(),
                    },
                ),
            ];
        }
        v
    }
}
