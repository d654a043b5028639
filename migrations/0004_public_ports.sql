-- sandboxd schema, version 4: ports a sandbox makes public.
--
-- JSON array of port names (sandbox.ports entries the operator marks allowPublic) whose Ingress
-- has no forward auth in front of it. Every sandbox before this version is owner-only: '[]'.
ALTER TABLE sandboxes ADD COLUMN public_ports TEXT NOT NULL DEFAULT '[]'
  CHECK (json_valid(public_ports) AND json_type(public_ports) = 'array');
