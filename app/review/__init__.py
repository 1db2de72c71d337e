"""Human in the loop: the review store (versions, decisions, audit), the label editing engine,
the uncertainty-ranked review queue and per-backend tool trust. No Qt here; panels live in
app/shell/panels."""
