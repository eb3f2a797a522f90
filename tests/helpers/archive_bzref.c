/* archive_bzref - the reference for the archive bench: compresses a file
 * with plain libbz2 (-9, 900 kB blocks) split into N equal parts on N
 * threads, and prints "seconds compressed_bytes".
 *
 *   archive_bzref FILE THREADS */
#include <bzlib.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct part {
	const char *p;
	size_t n;
	size_t out;
};

static void *run(void *arg)
{
	struct part *w = arg;
	unsigned int cap = (unsigned int)(w->n + w->n / 100 + 600);
	char *o = malloc(cap);

	if (!o || BZ2_bzBuffToBuffCompress(o, &cap, (char *)(uintptr_t)w->p,
					   (unsigned)w->n, 9, 0, 30) != BZ_OK)
		exit(1);
	w->out = cap;
	free(o);
	return NULL;
}

int main(int argc, char **argv)
{
	struct part w[16];
	pthread_t t[16];
	struct timespec a, b;
	FILE *f;
	char *data;
	long len;
	int n;
	size_t total = 0, at = 0;

	if (argc != 3 || (n = atoi(argv[2])) < 1 || n > 16 ||
	    !(f = fopen(argv[1], "rb")))
		return 2;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (!(data = malloc((size_t)len + 1)) ||
	    fread(data, 1, (size_t)len, f) != (size_t)len)
		return 1;
	fclose(f);
	for (int i = 0; i < n; i++) {
		w[i].p = data + at;
		w[i].n = (size_t)len / (size_t)n;
		if (i == n - 1)
			w[i].n = (size_t)len - at;
		at += w[i].n;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, &w[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		total += w[i].out;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f %zu\n", (double)(b.tv_sec - a.tv_sec) +
	       (double)(b.tv_nsec - a.tv_nsec) / 1e9, total);
	free(data);
	return 0;
}
