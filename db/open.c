/* open.c — opening the store: DIR/hapanel.db in WAL mode, the embedded
 * migrations applied in order (PRAGMA user_version), the reader pool and
 * the row helpers every table file uses (see internal.h). */
#define _POSIX_C_SOURCE 200809L
#include "db/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "core/embed.h"
#include "core/banned.h" /* last: after every system header */

int db__exec(sqlite3 *c, const char *sql, char *err, size_t errsz)
{
    char *msg = NULL;
    if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errsz, "%s", msg ? msg : sqlite3_errmsg(c));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int user_version(sqlite3 *c)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(c, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Applies every embedded migration past PRAGMA user_version, each in its own
 * transaction together with the version bump, so a crash never leaves a half
 * applied migration recorded as done. */
static int migrate(db *d, char *err, size_t errsz)
{
    int have = user_version(d->w), i;
    char sql[64];

    if (have < 0) {
        snprintf(err, errsz, "cannot read schema version: %s", sqlite3_errmsg(d->w));
        return -1;
    }
    for (i = 0; hp_migrations[i].name; i++) {
        char *text;
        if (i < have) continue;
        text = malloc(hp_migrations[i].len + 1);
        if (!text) return -1;
        memcpy(text, hp_migrations[i].data, hp_migrations[i].len);
        text[hp_migrations[i].len] = '\0';
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
        if (db__exec(d->w, "BEGIN IMMEDIATE", err, errsz) < 0 ||
            db__exec(d->w, text, err, errsz) < 0 || db__exec(d->w, sql, err, errsz) < 0 ||
            db__exec(d->w, "COMMIT", err, errsz) < 0) {
            char why[256];
            snprintf(why, sizeof(why), "%s", err);
            snprintf(err, errsz, "migration %s failed: %s", hp_migrations[i].name, why);
            sqlite3_exec(d->w, "ROLLBACK", NULL, NULL, NULL);
            free(text);
            return -1;
        }
        free(text);
    }
    if (have > i) {
        snprintf(err, errsz, "database schema version %d is newer than this hapanel (%d)", have, i);
        return -1;
    }
    d->version = i;
    return 0;
}

db *db_open(const char *dir, char *err, size_t errsz)
{
    db *d = calloc(1, sizeof(*d));

    if (!d) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->pool_lock, NULL);
    d->recent = db__recent_new();
    if (!d->recent) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    if (mkdir(dir, 0750) < 0) {
        struct stat st;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errsz, "cannot create data dir %s", dir);
            goto fail;
        }
    }
    snprintf(d->path, sizeof(d->path), "%s/hapanel.db", dir);
    if (sqlite3_open_v2(d->path, &d->w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errsz, "cannot open %s: %s", d->path, d->w ? sqlite3_errmsg(d->w) : "?");
        goto fail;
    }
    sqlite3_busy_timeout(d->w, 5000);
    if (db__exec(d->w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
                 err, errsz) < 0)
        goto fail;
    if (migrate(d, err, errsz) < 0) goto fail;
    if (sqlite3_prepare_v2(d->w,
                           "INSERT INTO events (ts, cluster, type, severity, source, node, "
                           "message, details) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &d->ins_event, NULL) != SQLITE_OK) {
        snprintf(err, errsz, "prepare: %s", sqlite3_errmsg(d->w));
        goto fail;
    }
    return d;
fail:
    db_free(d);
    return NULL;
}

void db_free(db *d)
{
    int i;
    if (!d) return;
    sqlite3_finalize(d->ins_event);
    for (i = 0; i < d->npool; i++)
        sqlite3_close(d->pool[i]);
    sqlite3_close(d->w);
    pthread_mutex_destroy(&d->pool_lock);
    db__recent_free(d->recent);
    free(d);
}

int db_schema_version(db *d)
{
    return d->version;
}

sqlite3 *db__reader_get(db *d)
{
    sqlite3 *c = NULL;
    pthread_mutex_lock(&d->pool_lock);
    if (d->npool > 0) c = d->pool[--d->npool];
    pthread_mutex_unlock(&d->pool_lock);
    if (c) return c;
    if (sqlite3_open_v2(d->path, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(c);
        return NULL;
    }
    sqlite3_busy_timeout(c, 2000);
    /* Every commit of the writer empties a reader's page cache (WAL), and
     * the list queries read a few index pages: a small cache per reader, so
     * that 32 workers reading at once do not hold 2 MB (SQLite's default)
     * each. */
    sqlite3_exec(c, "PRAGMA cache_size=-" DB_READER_CACHE_KB, NULL, NULL, NULL);
    return c;
}

void db__reader_put(db *d, sqlite3 *c)
{
    pthread_mutex_lock(&d->pool_lock);
    if (d->npool < DB_POOL_MAX) {
        d->pool[d->npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&d->pool_lock);
    sqlite3_close(c);
}

void db__col_text(sqlite3_stmt *st, int i, char *dst, size_t dstsz)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    hp_strlcpy(dst, t ? (const char *)t : "", dstsz);
}

int db__rd_open(db *d, rd *r, const char *sql)
{
    r->d = d;
    r->st = NULL;
    r->c = db__reader_get(d);
    if (!r->c) return -1;
    if (sqlite3_prepare_v2(r->c, sql, -1, &r->st, NULL) != SQLITE_OK) {
        sqlite3_finalize(r->st);
        db__reader_put(d, r->c);
        return -1;
    }
    return 0;
}

/* Returns the number of rows, or -1 if stepping failed. */
int db__rd_rows(rd *r, void (*row)(sqlite3_stmt *st, rd_fn fn, void *ctx), rd_fn fn, void *ctx)
{
    int rows = 0, rc;
    while ((rc = sqlite3_step(r->st)) == SQLITE_ROW) {
        row(r->st, fn, ctx);
        rows++;
    }
    sqlite3_finalize(r->st);
    db__reader_put(r->d, r->c);
    return rc == SQLITE_DONE ? rows : -1;
}

/* ------------------------------------------------------------ query builder */

static void qb_put(qb *q, const char *text)
{
    size_t n = strlen(text);
    if (q->len + n + 1 > sizeof(q->sql)) {
        q->overflow = 1;
        return;
    }
    memcpy(q->sql + q->len, text, n + 1);
    q->len += n;
}

void db__qb_init(qb *q, const char *sql)
{
    memset(q, 0, sizeof(*q));
    qb_put(q, sql);
}

void db__qb_cond(qb *q, const char *cond)
{
    qb_put(q, q->nwhere++ ? " AND " : " WHERE ");
    qb_put(q, cond);
}

void db__qb_text(qb *q, const char *cond, const char *text)
{
    if (!text) return;
    if (q->nbind == QB_MAX_BINDS) {
        q->overflow = 1;
        return;
    }
    db__qb_cond(q, cond);
    q->bind[q->nbind].text = text;
    q->nbind++;
}

void db__qb_num(qb *q, const char *cond, int64_t num)
{
    if (q->nbind == QB_MAX_BINDS) {
        q->overflow = 1;
        return;
    }
    db__qb_cond(q, cond);
    q->bind[q->nbind].text = NULL;
    q->bind[q->nbind].num = num;
    q->nbind++;
}

void db__qb_limit(qb *q, const char *order, int64_t limit)
{
    qb_put(q, " ");
    qb_put(q, order);
    qb_put(q, " LIMIT ?");
    if (q->nbind < QB_MAX_BINDS) {
        q->bind[q->nbind].text = NULL;
        q->bind[q->nbind].num = limit;
        q->nbind++;
    } else {
        q->overflow = 1;
    }
}

int db__qb_open(db *d, rd *r, qb *q)
{
    int i;
    if (q->overflow || db__rd_open(d, r, q->sql) < 0) return -1;
    for (i = 0; i < q->nbind; i++) {
        if (q->bind[i].text)
            sqlite3_bind_text(r->st, i + 1, q->bind[i].text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(r->st, i + 1, q->bind[i].num);
    }
    return 0;
}
