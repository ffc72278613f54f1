"""The dashboard on the admin's front page, drawn on the server (inline SVG, nothing fetched)."""

from datetime import timedelta

from django import template

from ops.selectors import console_dashboard

register = template.Library()

COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563"]
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 960, 220, 48, 24, 10


def _chart(start, series: dict[str, list[int]]) -> dict:
    minutes = max((len(values) for values in series.values()), default=1440)
    peak = max((max(values) for values in series.values() if values), default=0)
    ceiling = max(peak, 1)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    lines = []
    for index, (provider, values) in enumerate(series.items()):
        points = " ".join(
            f"{LEFT + plot_w * i / max(minutes - 1, 1):.1f},{TOP + plot_h * (1 - value / ceiling):.1f}"
            for i, value in enumerate(values)
        )
        lines.append(
            {"provider": provider, "points": points, "colour": COLOURS[index % len(COLOURS)], "total": sum(values)}
        )
    ticks = []
    if start is not None:
        for hour in range(0, 25, 3):
            x = LEFT + plot_w * min(hour * 60, minutes - 1) / max(minutes - 1, 1)
            ticks.append({"x": f"{x:.1f}", "label": (start + timedelta(minutes=hour * 60)).strftime("%H:%M")})
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - 8,
        "top": TOP,
        "base": HEIGHT - BOTTOM,
        "label_y": HEIGHT - 6,
        "peak_y": TOP + 10,
        "mid_x": WIDTH // 2,
        "mid_y": HEIGHT // 2,
        "peak": peak,
        "lines": lines,
        "ticks": ticks,
    }


def _age(span: timedelta | None) -> str:
    if span is None:
        return "nothing waiting"
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@register.inclusion_tag("admin/console/dashboard.html")
def queue_dashboard():
    dashboard = console_dashboard()
    expanding = [
        {
            "message": message,
            "percent": (
                min(100, round(100 * message.expanded_count / message.expected_total)) if message.expected_total else 0
            ),
        }
        for message in dashboard.expanding
    ]
    return {
        "dashboard": dashboard,
        "chart": _chart(dashboard.series_start, dashboard.series),
        "oldest_waiting": _age(dashboard.oldest_waiting),
        "expanding": expanding,
    }
