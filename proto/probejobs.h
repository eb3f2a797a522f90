/* probejobs.h - where a controller puts a probe's jobs and the upload job
 * it pushes, one place for both kinds of probe (PROTOCOL.md, "Command
 * dialogue" and "Crontab lines").
 *
 * A stock RIPE Atlas probe runs crons/main (perd: the condmv and httppost
 * upload jobs), crons/7 (eperd: measurements) and crons/oneoff (eooqd), and
 * nothing else: a line pushed to another folder is answered OK and never
 * runs.  Vantage's own probe reads every folder, so the same paths serve
 * both. */
#ifndef VT_PROTO_PROBEJOBS_H
#define VT_PROTO_PROBEJOBS_H

#include "common/err.h"
#include "proto/dialogue.h"

#define VT_JOBS_MSM_CRONTAB   "/home/atlas/crons/7"      /* eperd */
#define VT_JOBS_MAIN_CRONTAB  "/home/atlas/crons/main"   /* perd */
#define VT_JOBS_ONEOFF        "/home/atlas/crons/oneoff" /* eooqd */
/* The -O file of every measurement (periodic and one-off); the pushed
 * condmv line moves it to VT_JOBS_OUT_FILE for httppost. */
#define VT_JOBS_NEW_FILE      "/home/atlas/data/new/2"
#define VT_JOBS_OUT_FILE      "/home/atlas/data/out/2"
/* httppost --set-time: the largest clock offset (seconds) the probe takes
 * as confirmed by the sink's Date header; a confirmed clock makes the
 * stock probe's "lts" count from that upload instead of staying -1. */
#define VT_JOBS_SET_TIME_S    3
#define VT_JOBS_UPLOAD_MSM    9015   /* -A of the httppost job */

/* The start time of the upload lines: fixed, so that a crontab pushed
 * again (after every change of a probe's measurements) repeats them equal
 * in interval, start and command and the probe keeps their schedule; a
 * line with a new start would begin a new 60-second cycle each time (the
 * stock perd also reads a new crontab only once a minute).  Spread over
 * the minute by probe id. */
#define VT_JOBS_UPLOAD_START  1600000020LL   /* a whole minute */

/* Appends the crontab VT_JOBS_MAIN_CRONTAB with the upload job of probe
 * probe_id on session sid: a condmv line every 60 s and an httppost line
 * every 60 s (spread 20 s) with --set-time to
 * http://127.0.0.1:8080/?PROBE_ID=<id>&SESSION_ID=<sid>, both starting at
 * VT_JOBS_UPLOAD_START + probe_id % 60.  VT_EINVAL for a session id that
 * is not hex or a probe id <= 0, else the batch's errors. */
int vt_jobs_upload(struct vt_dlg_batch *b, long probe_id,
		   const char *sid) VT_WUR;

#endif
