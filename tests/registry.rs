//! A service is one module behind the service interface: a fake service added to the registry
//! (here, in the test) gets a home tile that works end to end — choose, confirm, back, print —
//! through the real kiosk task and the real UI, without a line of kiosk code naming it. An
//! unknown code opens nothing.
//!
//! Runs without the test harness: the headless UI's event loop wants the main thread.

use bianmin::config::Config;
use bianmin::scenario::{self, RunOptions, Scenario};
use bianmin::services::{
    Ctx, IdentityNeed, Input, Needs, Next, Paper, Registry, ScreenCtx, Service, ServiceSpec,
};
use bianmin::session::PageId;
use bianmin::view::{ChoiceView, FlowView, ResultKind, RowView};
use bianmin_printer::Receipt;

/// 便民借用: borrow an umbrella or a wheelchair at the service centre.
#[derive(Default)]
struct Lending {
    item: Option<&'static str>,
    lent: bool,
    paper: Paper,
}

const ITEMS: [(&str, &str); 2] = [("umbrella", "借雨伞"), ("wheelchair", "借轮椅")];

#[async_trait::async_trait]
impl Service for Lending {
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next {
        match input {
            Input::Open => Next::Go(PageId::Form),
            Input::Choose(id) => match ITEMS.iter().find(|i| i.0 == id) {
                Some(i) => {
                    self.item = Some(i.1);
                    Next::Go(PageId::Confirm)
                }
                None => Next::Stay,
            },
            Input::Confirm if !self.lent => {
                self.lent = true;
                let slip = Receipt::new("lending_slip")
                    .text(format!("{} 借用凭条", ctx.site.community))
                    .text(self.item.unwrap_or_default())
                    .cut();
                self.paper.print(ctx, slip, "lending");
                Next::Replace(PageId::Result)
            }
            other => other.ignored(),
        }
    }

    fn screen(&self, _: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
        v.form.title = "请选择要借用的物品".into();
        v.form.choices = ITEMS.iter().map(|i| ChoiceView::new(i.0, i.1)).collect();
        if let Some(item) = self.item {
            v.confirm.title = "请确认借用".into();
            v.confirm.rows = vec![RowView::new("物品", item)];
        }
        if self.lent {
            v.result.kind = ResultKind::Success;
            v.result.title = "借用成功".into();
            v.result.headline = "JY-0001".into();
            self.paper.show(&mut v);
        }
        v
    }
}

const LENDING: ServiceSpec = ServiceSpec {
    code: "test_lending",
    needs: Needs {
        identity: IdentityNeed::None,
        prints: true,
        offline: false,
    },
    start: || Box::<Lending>::default(),
    warm: None,
    upkeep: None,
};

const JOURNEY: &str = r#"
[[step]]
open_service = "test_lending"
[[step]]
expect_text = "请选择要借用的物品"
[[step]]
tap = "借轮椅"
[[step]]
expect_page = "confirm"
[[step]]
tap = "返回"
[[step]]
expect_page = "form"
[[step]]
tap = "借雨伞"
[[step]]
expect_text = "借雨伞"
[[step]]
tap = "确认"
[[step]]
expect_text = "借用成功"
[[step]]
expect_print = "借用凭条"
[[step]]
expect_text = "打印完成，请取走凭条"
[[step]]
open_service = "karaoke"
"#;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sc = Scenario::parse(JOURNEY).unwrap();
    let sc_len = sc.steps.len();
    let t = scenario::run(
        sc,
        RunOptions {
            out_dir: dir.path().join("out"),
            data_dir: dir.path().join("data"),
            cloud_url: None,
            enrollment_code: None,
            config: Config::default(),
            landscape: false,
            screenshot_pages: false,
            printer_port: None,
            registry: Registry::standard().with(LENDING),
        },
    )
    .unwrap();
    // Everything up to the last step held: the fake service's tile worked end to end.
    let last = t.steps.len();
    assert_eq!(last, sc_len, "the journey stopped early: {:?}", t.failure);
    for s in &t.steps[..last - 1] {
        assert!(s.ok, "step {} {}: {:?}", s.index, s.step, s.error);
    }
    assert_eq!(
        t.printouts
            .iter()
            .filter(|p| p.template == "lending_slip")
            .count(),
        1,
        "one slip, printed once"
    );
    // A code no registry knows has no tile, and the kiosk opens nothing in its place.
    let unknown = &t.steps[last - 1];
    assert!(!unknown.ok);
    assert!(
        unknown
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no tile for karaoke")),
        "{:?}",
        unknown.error
    );
    assert!(!t.ok);
    println!("registry: a test-only service ran end to end ({last} steps)");
}
