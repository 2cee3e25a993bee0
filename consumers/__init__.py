"""Consumers: what runs the domain over a log and answers from the projections."""
