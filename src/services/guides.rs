//! 办事指南: what each matter needs and where it is handled. No card needed.

use super::{show_cloud_error, Ctx, Next};
use crate::cloud::api::Guide;
use crate::session::PageId;
use crate::view::{ChoiceView, ResultKind, RowView};

#[derive(Debug, Default)]
pub struct GuidesFlow {
    guides: Vec<Guide>,
    chosen: Option<String>,
}

impl GuidesFlow {
    pub async fn open(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match ctx.cloud.guides("").await {
            Ok(list) => {
                self.guides = list.guides;
                self.fill_choices(ctx);
                Next::Go(PageId::Form)
            }
            Err(e) => show_cloud_error(ctx.view, &e),
        }
    }

    fn fill_choices(&self, ctx: &mut Ctx<'_>) {
        ctx.view.form_title = "guides.pick".into();
        ctx.view.form_hint = "guides.hint".into();
        ctx.view.choices = self
            .guides
            .iter()
            .map(|g| ChoiceView {
                id: g.id.clone(),
                title: ctx.text(&g.title).into(),
                detail: ctx.text(&g.summary).into(),
                enabled: true,
                ..Default::default()
            })
            .collect();
    }

    pub async fn choose(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Next {
        let Some(g) = self.guides.iter().find(|g| g.id == id) else {
            return Next::Stay;
        };
        self.chosen = Some(id.to_string());
        let g = g.clone();
        fill_guide(ctx, &g);
        Next::Go(PageId::Result)
    }

    pub async fn retry(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.open(ctx).await
    }
}

fn fill_guide(ctx: &mut Ctx<'_>, g: &Guide) {
    let materials: Vec<&str> = g.materials.iter().map(|m| m.get(ctx.lang)).collect();
    let sep = if ctx.lang == crate::Lang::Zh {
        "、"
    } else {
        ", "
    };
    let v = &mut *ctx.view;
    v.result_kind = ResultKind::Info;
    // Data titles pass through the UI's key lookup unchanged.
    v.result_title = g.title.get(ctx.lang).into();
    v.result_headline.clear();
    v.result_message.clear();
    v.result_rows = vec![
        RowView::new("summary", g.summary.get(ctx.lang)),
        RowView::new("materials", materials.join(sep)),
        RowView::new("window", g.window.clone()),
    ];
    v.can_print = false;
    v.can_retry = false;
    v.print_state.clear();
}

impl GuidesFlow {
    pub fn relabel(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.fill_choices(ctx);
        if let Some(id) = self.chosen.clone() {
            let g = self.guides.iter().find(|g| g.id == id).cloned();
            if let Some(g) = g {
                fill_guide(ctx, &g);
            }
        }
        Next::Stay
    }
}
