"""Projections: the state folded from facts in event-time order, and the queries over it. Pure."""
