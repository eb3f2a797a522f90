/* chaos_tap - keeps a hard link to every result file probes write, so that a
 * test can count what the probes produced after they uploaded and deleted
 * their files.
 *
 *   chaos_tap RECDIR SPOOL...
 *
 * For the i-th SPOOL (from 1), every regular file that is closed after
 * writing in SPOOL/data/new, or moved into SPOOL/data/out, is hard-linked
 * as RECDIR/i/<inode>: once per file, whatever its name or folder later.  A
 * result file keeps its inode from data/new to data/out (rename), so its
 * record holds its final content.  Names starting with '.' are skipped,
 * as the probe skips them.  Both folders are also rescanned every 200 ms.
 * Stops on SIGTERM or SIGINT after a last rescan and prints
 * "recorded N gone M": M counts data/out files deleted before they could
 * be linked there (most were recorded from data/new before; a diagnostic
 * only). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SPOOLS 64

struct watch {
	int  wd;
	int  out;                  /* 1: data/out, 0: data/new */
	char dir[PATH_MAX - 64];
	char rec[PATH_MAX - 64];
};

static volatile sig_atomic_t stopping;
static long recorded, gone;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Links dir/name into rec under its inode number.  The link goes to a
 * temporary name first, so the inode is the one of the file linked. */
static void tap(const struct watch *w, const char *name)
{
	char from[PATH_MAX], tmp[PATH_MAX], to[PATH_MAX];
	struct stat st;

	if (name[0] == '.' || !name[0])
		return;
	snprintf(from, sizeof from, "%s/%s", w->dir, name);
	snprintf(tmp, sizeof tmp, "%s/.tmp", w->rec);
	unlink(tmp);
	if (link(from, tmp) < 0) {
		if (errno == ENOENT && w->out)
			gone++;
		return;
	}
	if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode)) {
		snprintf(to, sizeof to, "%s/%llu", w->rec,
			 (unsigned long long)st.st_ino);
		if (link(tmp, to) == 0)
			recorded++;
	}
	unlink(tmp);
}

static void rescan(const struct watch *w)
{
	DIR *d = opendir(w->dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		tap(w, e->d_name);
	closedir(d);
}

int main(int argc, char **argv)
{
	static struct watch ws[2 * MAX_SPOOLS];
	int nw = 0, fd;
	char buf[64 * 1024] __attribute__((aligned(8)));

	if (argc < 3 || argc - 2 > MAX_SPOOLS) {
		fprintf(stderr, "usage: chaos_tap RECDIR SPOOL...\n");
		return 2;
	}
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0) {
		perror("inotify_init1");
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		char rec[PATH_MAX - 64];

		snprintf(rec, sizeof rec, "%s/%d", argv[1], i - 1);
		if (mkdir(rec, 0755) < 0 && errno != EEXIST) {
			perror(rec);
			return 1;
		}
		for (int o = 0; o < 2; o++) {
			struct watch *w = &ws[nw++];

			w->out = o;
			snprintf(w->dir, sizeof w->dir, "%s/data/%s", argv[i],
				 o ? "out" : "new");
			snprintf(w->rec, sizeof w->rec, "%s", rec);
			w->wd = inotify_add_watch(fd, w->dir, o ? IN_MOVED_TO |
						  IN_CLOSE_WRITE : IN_CLOSE_WRITE |
						  IN_MOVED_TO);
			if (w->wd < 0) {
				perror(w->dir);
				return 1;
			}
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	for (int i = 0; i < nw; i++)
		rescan(&ws[i]);
	printf("ready\n");
	fflush(stdout);
	while (!stopping) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0) {
			for (int i = 0; i < nw; i++)
				rescan(&ws[i]);
			continue;
		}
		while ((n = read(fd, buf, sizeof buf)) > 0) {
			for (char *q = buf; q < buf + n;) {
				struct inotify_event *ev = (struct inotify_event *)q;

				q += sizeof *ev + ev->len;
				if (ev->mask & IN_Q_OVERFLOW) {
					for (int i = 0; i < nw; i++)
						rescan(&ws[i]);
					continue;
				}
				for (int i = 0; i < nw; i++)
					if (ws[i].wd == ev->wd && ev->len)
						tap(&ws[i], ev->name);
			}
		}
	}
	for (int i = 0; i < nw; i++)
		rescan(&ws[i]);
	printf("recorded %ld gone %ld\n", recorded, gone);
	return 0;
}
