-- A door a locker reports open that its controller did not open
-- (door_opened: forced, or a lock that failed open) until it is reported
-- closed: its closing then completes no pickup or drop-off (service
-- Lockers.DoorClosed), and the operator reconciles the compartment.

-- +goose Up
ALTER TABLE compartments ADD COLUMN door_forced boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE compartments DROP COLUMN door_forced;
