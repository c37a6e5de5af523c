-- Delivered events are deleted once the session retention has passed since their delivery.
CREATE INDEX webhook_outbox_delivered ON webhook_outbox (delivered_at)
    WHERE delivered_at IS NOT NULL;
