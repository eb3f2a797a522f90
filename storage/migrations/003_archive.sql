-- 003_archive: the index of the cold archive (DESIGN.md, data flow 7 and 8;
-- docs/archive.md).  An object row and its segment rows are written in one
-- transaction after the object itself is stored: the index is the commit
-- record of an archived object.

CREATE TABLE archive_objects (
    id               bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    day              date NOT NULL,
    msm_id           bigint,                        -- NULL: the day's one-off object
    key              text NOT NULL UNIQUE,          -- results/YYYY/MM/DD/<msm_id>.bz2
    store            text NOT NULL,                 -- URL of the store written to
    size             bigint NOT NULL,
    sha256           text NOT NULL,                 -- hex
    etag             text NOT NULL DEFAULT '',
    segments         integer NOT NULL,
    results          bigint NOT NULL,               -- hot rows archived in it
    raw_bytes        bigint NOT NULL,
    created          timestamptz NOT NULL DEFAULT now(),
    verified         timestamptz,                   -- read back and every segment checked
    expired          timestamptz                    -- its hot rows removed
);
CREATE UNIQUE INDEX archive_objects_day_msm ON archive_objects (day, coalesce(msm_id, 0));

CREATE TABLE archive_index (
    object_id        bigint NOT NULL REFERENCES archive_objects(id) ON DELETE CASCADE,
    seg              integer NOT NULL,              -- stream number in the object
    msm_id           bigint NOT NULL,
    day              date NOT NULL,
    prb_id           integer,                       -- NULL in the one-off object
    off              bigint NOT NULL,               -- byte offset of the stream
    clen             bigint NOT NULL,               -- compressed length
    rlen             bigint NOT NULL,               -- raw length
    count            integer NOT NULL,              -- results
    first_ts         bigint NOT NULL,
    last_ts          bigint NOT NULL,
    crc              bigint NOT NULL,               -- bzip2 stream CRC
    PRIMARY KEY (object_id, seg)
);
CREATE INDEX archive_index_msm ON archive_index (msm_id, day, prb_id);
