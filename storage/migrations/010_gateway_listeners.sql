-- 010_gateway_listeners: the listener a stock probe can verify, and a
-- gateway that stopped.
--
-- A stock RIPE Atlas probe pins the controller's key as a plain
-- `host ssh-rsa KEY` line, which OpenSSH only honours when the server
-- offers nothing but RSA (PROTOCOL.md, "Transport").  A gateway may hold a
-- listener with the RSA host key alone for such probes (rsa_ctrl_port);
-- ctrl_port is the listener of Vantage's own probes (ed25519).
-- Registration sends a probe with an RSA key to rsa_ctrl_port (with the
-- ssh-rsa key) and a probe with an ed25519 key to ctrl_port (with the
-- ed25519 key).
--
-- stopped is set by a gateway that exits cleanly: registration stops
-- handing it out at once instead of waiting for its heartbeat to age.
ALTER TABLE gateways ADD COLUMN rsa_ctrl_port integer;
ALTER TABLE gateways ADD COLUMN stopped timestamptz;
