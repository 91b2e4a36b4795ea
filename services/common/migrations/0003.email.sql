-- Marketing email: the shop's customers, catalogue, orders and promotions (what `forgeline
-- seed` fills, or a real shop syncs), templates, and the delivery records.
-- depends: 0002.images

CREATE TABLE shop_users (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    user_id text NOT NULL,
    email text NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    cohort text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE shop_items (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    sku text NOT NULL,
    name text NOT NULL,
    category text NOT NULL,
    price numeric(12, 2) NOT NULL CHECK (price >= 0),
    stock integer NOT NULL CHECK (stock >= 0),
    PRIMARY KEY (tenant_id, sku)
);

CREATE TABLE purchases (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    user_id text NOT NULL,
    sku text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    purchased_at timestamptz NOT NULL
);
CREATE INDEX purchases_user ON purchases (tenant_id, user_id, purchased_at DESC);

-- A promotion applies to a cohort (or everyone: NULL) or to one user, from a minimum cart total.
CREATE TABLE promotions (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    code text NOT NULL,
    percent_off integer NOT NULL CHECK (percent_off BETWEEN 1 AND 90),
    cohort text,
    user_id text,
    min_cart_total numeric(12, 2) NOT NULL DEFAULT 0,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE email_templates (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    template_id text NOT NULL,
    cohort text NOT NULL,
    subject text NOT NULL,
    preheader text NOT NULL,
    body text NOT NULL,
    call_to_action text NOT NULL,
    conversion_rate double precision NOT NULL CHECK (conversion_rate BETWEEN 0 AND 1),
    PRIMARY KEY (tenant_id, template_id)
);

CREATE TABLE email_suppressions (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    email text NOT NULL,
    reason text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email)
);

-- One row per cart: written 'sending' before the SMTP call and 'sent' after, so a crash in
-- between is visible (see services/email/delivery.py for the edge case).
CREATE TABLE email_sends (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    cart_id text NOT NULL,
    user_id text NOT NULL,
    recipient text NOT NULL,
    status text NOT NULL CHECK (status IN ('sending', 'sent', 'suppressed', 'capped')),
    message_id text NOT NULL,
    fallback boolean NOT NULL,
    failed_checks jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    PRIMARY KEY (tenant_id, cart_id)
);
CREATE INDEX email_sends_user ON email_sends (tenant_id, user_id, sent_at DESC);
