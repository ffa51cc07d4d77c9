//! Text staff write in Markdown (notices, dataset descriptions), rendered and then cleaned by
//! ammonia so that no script or unsafe attribute reaches a resident's page.

/// Markdown to HTML that is safe to show: pulldown-cmark renders, ammonia keeps only harmless
/// tags and attributes (no scripts, no event handlers, links get rel="noopener noreferrer").
pub(crate) fn render_markdown(markdown: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(markdown));
    ammonia::clean(&html)
}
