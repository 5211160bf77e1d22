/* SPDX-License-Identifier: GPL-2.0-or-later */
/* block:block_rq_complete through perf_event_open; see perf.h. */
#include "perf.h"
#include "fileio.h"
#include "util.h"

#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#define TRACEFS "/sys/kernel/tracing"
#define TP_DIR "/events/block/block_rq_complete"
#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
#define MAX_RECORD 65536

/* "\tfield:unsigned int nr_sector;\toffset:24;\tsize:4;\tsigned:0;" -> name, offset, size. */
static bool parse_field(const char *line, char *name, size_t namelen, int *off, int *size)
{
	const char *f = strstr(line, "field:"), *semi, *o = strstr(line, "offset:"), *s = strstr(line, "size:");
	const char *start;
	size_t n;

	if (!f || !o || !s || sscanf(o, "offset:%d", off) != 1 || sscanf(s, "size:%d", size) != 1)
		return false;
	semi = strchr(f, ';');
	if (!semi)
		return false;
	/* The name is the last word before ';', without an array suffix. */
	start = semi;
	while (start > f && start[-1] != ' ' && start[-1] != '\t')
		start--;
	n = (size_t)(semi - start);
	if (memchr(start, '[', n))
		n = (size_t)((const char *)memchr(start, '[', n) - start);
	if (n == 0 || n >= namelen)
		return false;
	memcpy(name, start, n);
	name[n] = '\0';
	return *off >= 0 && *size > 0;
}

int trk_tp_parse_format(const char *text, struct trk_tp_format *f)
{
	unsigned id = f->id;
	const char *line = text;

	memset(f, 0, sizeof(*f));
	f->id = id;
	f->dev_off = f->sector_off = f->nr_off = f->rwbs_off = -1;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		char buf[256], name[64];
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		int off, size;

		if (n < sizeof(buf)) {
			memcpy(buf, line, n);
			buf[n] = '\0';
			if (parse_field(buf, name, sizeof(name), &off, &size)) {
				if (streq(name, "dev"))
					f->dev_off = off, f->dev_size = size;
				else if (streq(name, "sector"))
					f->sector_off = off, f->sector_size = size;
				else if (streq(name, "nr_sector"))
					f->nr_off = off, f->nr_size = size;
				else if (streq(name, "rwbs"))
					f->rwbs_off = off, f->rwbs_size = size;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (f->dev_off < 0 || f->dev_size != 4 || f->sector_off < 0 || f->sector_size != 8 || f->nr_off < 0 ||
	    f->nr_size != 4 || f->rwbs_off < 0 || f->rwbs_size < 2 || f->rwbs_size > 15)
		return -EBADMSG;
	return 0;
}

int trk_tp_decode(const struct trk_tp_format *f, const uint8_t *raw, size_t len, struct trk_tp_event *ev)
{
	if ((size_t)f->dev_off + 4 > len || (size_t)f->sector_off + 8 > len || (size_t)f->nr_off + 4 > len ||
	    (size_t)f->rwbs_off + (size_t)f->rwbs_size > len)
		return -EBADMSG;
	memcpy(&ev->dev, raw + f->dev_off, 4);
	memcpy(&ev->sector, raw + f->sector_off, 8);
	memcpy(&ev->nr_sector, raw + f->nr_off, 4);
	memset(ev->rwbs, 0, sizeof(ev->rwbs));
	memcpy(ev->rwbs, raw + f->rwbs_off, (size_t)f->rwbs_size);
	ev->rwbs[sizeof(ev->rwbs) - 1] = '\0';
	return 0;
}

/*
 * rwbs is [F(preflush)] OP [F(fua)] [A(ahead)] [S(sync)] [M(meta)], OP one of R W D (DE: secure erase)
 * F (flush) N (anything else: write-zeroes, zone operations, passthrough). Only reads and flushes are
 * known not to change data; everything else with sectors is marked, and an unknown operation without
 * sectors (a zone reset, an SG_IO write) cannot be placed.
 */
enum trk_effect trk_tp_classify(const struct trk_tp_event *ev)
{
	const char *r = ev->rwbs;

	if (r[0] == 'F' && r[1])
		r++;
	if (r[0] == 'R' || (r[0] == 'F' && !r[1]) || !r[0])
		return TRK_IGNORE;
	if (ev->nr_sector)
		return TRK_DIRTY;
	if (r[0] == 'W' || r[0] == 'D' || r[0] == 'F')
		return TRK_IGNORE; /* an empty write is a flush/FUA marker */
	return TRK_DIRTY_ALL;
}

static const char *tracefs_dir(char *err, size_t errlen)
{
	struct statfs sf;

	if (access(TRACEFS TP_DIR "/id", R_OK) == 0)
		return TRACEFS;
	if (statfs(TRACEFS, &sf) == 0 && (unsigned long)sf.f_type != TRACEFS_MAGIC &&
	    mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0 && access(TRACEFS TP_DIR "/id", R_OK) == 0)
		return TRACEFS;
	if (access("/sys/kernel/debug/tracing" TP_DIR "/id", R_OK) == 0)
		return "/sys/kernel/debug/tracing";
	snprintf(err, errlen, TRACEFS TP_DIR ": missing (tracefs not mountable, or no block tracepoints)");
	return NULL;
}

static int read_format(struct trk_perf *p, char *err, size_t errlen)
{
	const char *dir = tracefs_dir(err, errlen);
	_cleanup_free_ char *idp = NULL, *fmtp = NULL, *idtxt = NULL, *fmt = NULL;
	int r;

	if (!dir)
		return -ENOENT;
	idp = xasprintf("%s" TP_DIR "/id", dir);
	fmtp = xasprintf("%s" TP_DIR "/format", dir);
	if ((r = read_file_bounded(idp, 4096, &idtxt, NULL)) < 0 || sscanf(idtxt, "%u", &p->fmt.id) != 1) {
		snprintf(err, errlen, "%s: %s", idp, r < 0 ? strerror(-r) : "not a number");
		return r < 0 ? r : -EBADMSG;
	}
	if ((r = read_file_bounded(fmtp, 65536, &fmt, NULL)) < 0 || (r = trk_tp_parse_format(fmt, &p->fmt)) < 0) {
		snprintf(err, errlen, "%s: %s", fmtp, r == -EBADMSG ? "fields dev/sector/nr_sector/rwbs not found" : strerror(-r));
		return r;
	}
	return 0;
}

static int open_cpu(struct trk_perf *p, unsigned cpu, size_t data_pages)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(a),
		.config = p->fmt.id,
		.sample_period = 1,
		.sample_type = PERF_SAMPLE_RAW,
		.disabled = 1,
		.watermark = 1,
		/* Wake the reader at a quarter full: it has the other three quarters' time to come. */
		.wakeup_watermark = (uint32_t)(data_pages * p->page / 4),
	};
	char filter[64];
	int fd;

	/* PERF_FORMAT_LOST (Linux 6.0): read() tells the lost count even when no later sample arrives
	 * to carry a PERF_RECORD_LOST into the ring. */
	a.read_format = p->no_lost_fmt ? 0 : PERF_FORMAT_LOST;
	fd = (int)syscall(SYS_perf_event_open, &a, -1, (int)cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && errno == EINVAL && !p->no_lost_fmt) {
		p->no_lost_fmt = true;
		a.read_format = 0;
		fd = (int)syscall(SYS_perf_event_open, &a, -1, (int)cpu, -1, PERF_FLAG_FD_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	/* The kernel-side filter keeps other disks' completions out of our rings; we check dev anyway. */
	snprintf(filter, sizeof(filter), "dev == %u", p->dev);
	ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter);
	p->ring[cpu] = mmap(NULL, p->ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p->ring[cpu] == MAP_FAILED) {
		int r = -errno;

		p->ring[cpu] = NULL;
		close(fd);
		return r;
	}
	p->fd[cpu] = fd;
	return 0;
}

int trk_perf_start(dev_t dev, size_t ring_bytes, struct trk_perf *p, char *err, size_t errlen)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	size_t pages = 1;
	unsigned opened = 0;
	int r, last = 0;

	memset(p, 0, sizeof(*p));
	p->page = (size_t)sysconf(_SC_PAGESIZE);
	p->dev = (major(dev) << 20) | minor(dev);
	r = read_format(p, err, errlen);
	if (r < 0)
		return r;
	while (pages * p->page < ring_bytes && pages < (1u << 16))
		pages *= 2;
	p->data_pages = pages;
	p->ring_bytes = (pages + 1) * p->page;
	p->ncpus = n > 0 ? (unsigned)n : 1;
	p->fd = xmalloc(p->ncpus * sizeof(int));
	p->ring = xcalloc(p->ncpus, sizeof(void *));
	p->scratch = xmalloc(MAX_RECORD);
	for (unsigned c = 0; c < p->ncpus; c++) {
		p->fd[c] = -1;
		r = open_cpu(p, c, pages);
		if (r == 0)
			opened++;
		else if (r == -ENODEV || r == -EINVAL) /* offline CPU */
			p->missing++;
		else
			last = r;
	}
	if (!opened || last) {
		snprintf(err, errlen, "perf_event_open(block:block_rq_complete): %s",
			 strerror(last ? -last : ENODEV));
		trk_perf_close(p);
		return last ? last : -ENODEV;
	}
	for (unsigned c = 0; c < p->ncpus; c++)
		if (p->fd[c] >= 0)
			ioctl(p->fd[c], PERF_EVENT_IOC_ENABLE, 0);
	return 0;
}

static void copy_out(const uint8_t *data, size_t size, uint64_t pos, void *dst, size_t len)
{
	size_t off = pos % size, first = len < size - off ? len : size - off;

	memcpy(dst, data + off, first);
	memcpy((uint8_t *)dst + first, data, len - first);
}

static void read_ring(struct trk_perf *p, unsigned cpu, trk_event_cb cb, void *userdata)
{
	struct perf_event_mmap_page *mp = p->ring[cpu];
	const uint8_t *data = (const uint8_t *)mp + (mp->data_offset ? mp->data_offset : p->page);
	size_t size = mp->data_size ? mp->data_size : p->ring_bytes - p->page;
	uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE), tail = mp->data_tail;

	while (tail < head) {
		struct perf_event_header h;

		copy_out(data, size, tail, &h, sizeof(h));
		if (h.size < sizeof(h) || h.size > head - tail) {
			p->bad++;
			p->lost++; /* cannot go on in this ring: what follows is unreadable */
			tail = head;
			break;
		}
		copy_out(data, size, tail, p->scratch, h.size);
		if (h.type == PERF_RECORD_SAMPLE && h.size >= sizeof(h) + 4) {
			uint32_t rawlen;
			struct trk_tp_event ev;

			memcpy(&rawlen, p->scratch + sizeof(h), 4);
			if (rawlen > h.size - sizeof(h) - 4 ||
			    trk_tp_decode(&p->fmt, p->scratch + sizeof(h) + 4, rawlen, &ev) < 0) {
				p->bad++;
				cb(0, 0, TRK_DIRTY_ALL, userdata);
			} else if (ev.dev == p->dev) {
				p->samples++;
				cb(ev.sector, ev.nr_sector * 512u, trk_tp_classify(&ev), userdata);
			}
		} else if (h.type == PERF_RECORD_LOST && h.size >= sizeof(h) + 16) {
			uint64_t lost;

			memcpy(&lost, p->scratch + sizeof(h) + 8, 8);
			p->lost += lost ? lost : 1;
		}
		tail += h.size;
	}
	__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
}

void trk_perf_read(struct trk_perf *p, trk_event_cb cb, void *userdata)
{
	for (unsigned c = 0; c < p->ncpus; c++)
		if (p->ring[c])
			read_ring(p, c, cb, userdata);
}

unsigned trk_perf_open_missing(struct trk_perf *p)
{
	unsigned n = 0;

	for (unsigned c = 0; p->missing && c < p->ncpus; c++) {
		if (p->fd[c] >= 0 || open_cpu(p, c, p->data_pages) < 0)
			continue;
		ioctl(p->fd[c], PERF_EVENT_IOC_ENABLE, 0);
		p->missing--;
		n++;
	}
	return n;
}

uint64_t trk_perf_lost(const struct trk_perf *p)
{
	uint64_t counted = 0;

	for (unsigned c = 0; !p->no_lost_fmt && c < p->ncpus; c++) {
		uint64_t v[2];

		if (p->fd[c] >= 0 && read(p->fd[c], v, sizeof(v)) == (ssize_t)sizeof(v))
			counted += v[1];
	}
	return counted > p->lost ? counted : p->lost;
}

void trk_perf_stop(struct trk_perf *p)
{
	for (unsigned c = 0; c < p->ncpus; c++)
		if (p->fd && p->fd[c] >= 0)
			ioctl(p->fd[c], PERF_EVENT_IOC_DISABLE, 0);
}

void trk_perf_close(struct trk_perf *p)
{
	for (unsigned c = 0; c < p->ncpus; c++) {
		if (p->ring && p->ring[c])
			munmap(p->ring[c], p->ring_bytes);
		if (p->fd && p->fd[c] >= 0)
			close(p->fd[c]);
	}
	free(p->fd);
	free(p->ring);
	free(p->scratch);
	p->fd = NULL;
	p->ring = NULL;
	p->scratch = NULL;
	p->ncpus = 0;
}
