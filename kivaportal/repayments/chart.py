"""A report's last months as bars of an inline SVG (templates/review/reports_detail.html): no
script, no library, no CDN; the figures are in the SVG's text for screen readers."""

from decimal import Decimal

WIDTH, HEIGHT, TOP = 600, 150, 16


def month_chart(months, currency) -> dict:
    """`months`: (first day, total) pairs, oldest first; the tallest bar fills the height."""
    highest = max((total for _m, total in months), default=Decimal(0)) or Decimal(1)
    step = WIDTH / max(len(months), 1)
    bars = []
    for i, (month, total) in enumerate(months):
        height = float(total / highest) * (HEIGHT - TOP)
        bars.append(
            {
                "x": round(i * step + step * 0.15, 1),
                "width": round(step * 0.7, 1),
                "y": round(HEIGHT - height, 1),
                "height": round(height, 1),
                "label_x": round(i * step + step / 2, 1),
                "month": month,
                "total": total,
            }
        )
    return {"bars": bars, "width": WIDTH, "height": HEIGHT, "currency": currency}
