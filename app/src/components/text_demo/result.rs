//! The result box under the text: a hint, an error, the verdict with feedback, or the notice
//! for a text the model cannot read. Screen readers hear each change (`aria-live`).

use leptos::prelude::*;

use wire::catalog::CatalogueEntry;

use super::analysis::{Analysis, Outcome};
use super::unreadable::UnreadableNotice;
use super::verdict::Verdict;
use crate::i18n::use_i18n;

#[component]
pub fn ResultPanel(
    /// The demo's model id (the prefix of its element and test ids).
    id: &'static str,
    entry: StoredValue<CatalogueEntry>,
    analysis: Analysis,
    /// Analyses a text at once with the model of this id (a reader the notice offers).
    on_reader: Callback<(String, String)>,
    on_example: Callback<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let first_example =
        move || entry.with_value(|e| i18n.examples(&e.manifest.examples).into_iter().next());
    view! {
        <div id=format!("{id}-result") class="sentiment-result" class:busy=move || analysis.busy.get()
            data-testid=format!("{id}-result") data-state=move || analysis.outcome.with(Outcome::name)
            aria-live="polite">
            {move || match analysis.outcome.get() {
                Outcome::Empty => view! {
                    <p class="hint" data-testid=format!("{id}-hint")>{t("text.hint")}</p>
                }.into_any(),
                Outcome::Blank => view! {
                    <p class="error-text" data-testid=format!("{id}-error")>{t("text.blank")}</p>
                }.into_any(),
                Outcome::Failed(reason) => view! {
                    <p class="error-text" data-testid=format!("{id}-error")>
                        {t("text.error")}" "{reason}
                    </p>
                }.into_any(),
                Outcome::Unreadable(answer) => {
                    let text = analysis.text.get_untracked();
                    let on_reader = Callback::new(move |reader: String| on_reader.run((reader, text.clone())));
                    view! {
                        <UnreadableNotice id=id answer=answer example=first_example()
                            on_reader=on_reader on_example=on_example/>
                    }.into_any()
                }
                Outcome::Answer(answer) => {
                    let entry = entry.get_value();
                    view! {
                        <Verdict entry=entry.clone() answer=answer.clone()/>
                        {crate::feedback::on_text(&entry, &answer, analysis.text.get_untracked())}
                    }.into_any()
                }
            }}
        </div>
    }
}
