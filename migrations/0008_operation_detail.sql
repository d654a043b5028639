-- sandboxd schema, version 8: restore and fork (issue 23).
--
-- detail: what an operation needs to be carried out after a crash, as JSON; empty for most.
--   restore  {"snapshot": id, "preRestore": id, "resume": bool}: the snapshot to restore, the
--            id chosen up front for the snapshot of the volume it replaces, and whether the
--            sandbox runs again afterwards. Written with the intent (the sandbox's stop), in
--            one transaction, so a restart resumes the restore from whatever step it reached.
--   create   {"fromSnapshot": id, "volumeSnapshot": name}: a fork, whose home volume is made
--            from that snapshot before its StatefulSet (written with the sandbox's row).
ALTER TABLE operations ADD COLUMN detail TEXT NOT NULL DEFAULT '';
