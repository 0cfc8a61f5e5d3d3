"""Entry text as HTML that cannot run anything: Markdown without raw HTML, then an allow-list sanitiser."""

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in the text is shown as text, never passed through; markdown-it also refuses javascript:,
# vbscript: and data: links. nh3 (ammonia) then keeps only these tags, attributes and URL schemes, so even a
# renderer bug cannot smuggle a script, an event handler or a style through.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}, "th": {"style"}}


def render(text: str) -> Markup:
    html = _MARKDOWN.render(text)
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes={tag: set(names) - {"style"} for tag, names in _ATTRIBUTES.items()},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(clean)
