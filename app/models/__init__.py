"""Model versions of trainable backends: a registry under the user folder (versions, cards, the
promoted one, rollback), the reviewed examples they learn from, and training/adaptation jobs."""
