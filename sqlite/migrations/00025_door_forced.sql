-- A door a locker reports open that its controller did not open
-- (door_opened: forced, or a lock that failed open) until it is reported
-- closed: its closing then completes no pickup or drop-off (service
-- Lockers.DoorClosed), and the operator reconciles the compartment.

-- +goose Up
ALTER TABLE compartments ADD COLUMN door_forced INTEGER NOT NULL DEFAULT 0 CHECK (door_forced IN (0, 1));

-- +goose Down
ALTER TABLE compartments DROP COLUMN door_forced;
