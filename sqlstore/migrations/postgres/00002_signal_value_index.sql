-- +goose Up
-- A vPDQ value runs to a megabyte for a long video, far over what one PostgreSQL
-- B-tree entry may hold (a third of a page), so no vPDQ signal of more than a few
-- dozen frames could be stored. The index of values leaves vPDQ signals out, and
-- reading the signals of one type has an index of its own.
DROP INDEX signals_type_value;
CREATE INDEX signals_type_value ON signals (type, value) WHERE type <> 'vpdq';
CREATE INDEX signals_type ON signals (type, id);

-- +goose Down
DROP INDEX signals_type;
DROP INDEX signals_type_value;
CREATE INDEX signals_type_value ON signals (type, value);
