/*
 * ops_audit: the append-only, hash-chained audit log.
 *
 * Each row carries the hash of the previous row of its tenant, so editing,
 * deleting or reordering any row breaks the chain from there on. The hash is
 * hex SHA-256 over a canonical serialisation in which every field is written
 * as "<byte length>:<value>", so no choice of field contents can make two
 * different rows serialise the same. The store appends atomically (seq and
 * prev_hash are read and written in one transaction per tenant).
 */
#include <inttypes.h>
#include <string.h>

#include "ops/ops.h"

static void put_field(struct buf *b, const char *v)
{
    size_t n = strlen(v);
    buf_printf(b, "%zu:", n);
    buf_append(b, v, n);
}

static void put_int(struct buf *b, int64_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    put_field(b, tmp);
}

void ops_audit_hash(struct store_audit *row)
{
    struct buf b = {0};
    buf_puts(&b, "sb-audit-v1\n");
    put_field(&b, row->tenant_id);
    put_int(&b, row->seq);
    put_int(&b, row->at);
    put_field(&b, row->actor_type);
    put_field(&b, row->actor_id);
    put_field(&b, row->action);
    put_field(&b, row->target);
    put_field(&b, row->ip);
    put_field(&b, row->details);
    put_field(&b, row->prev_hash);
    crypto_sha256_hex(row->hash, b.data, b.len);
    buf_free(&b);
}

/* Copy src into a fixed field, refusing (rather than silently truncating)
 * what does not fit: a truncated audit row would misreport what happened. */
static int copy_field(char *dst, size_t cap, const char *src, const char *what, struct err *e)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= cap)
        return err_set(e, ERR_INVALID, "audit_field_too_long", "audit %s is %zu bytes (max %zu)", what, n, cap - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

int ops_audit(struct store *db, const char *tenant_id, const char *actor_type, const char *actor_id,
              const char *action, const char *target, const char *ip, const char *details, struct err *e)
{
    struct store_audit row;
    int rc;
    memset(&row, 0, sizeof(row));
    if (!tenant_id || !*tenant_id || !action || !*action) {
        rc = err_set(e, ERR_INVALID, NULL, "audit row needs a tenant and an action");
        goto out;
    }
    if ((rc = copy_field(row.tenant_id, sizeof(row.tenant_id), tenant_id, "tenant_id", e)) != 0 ||
        (rc = copy_field(row.actor_type, sizeof(row.actor_type), actor_type ? actor_type : "system", "actor_type",
                         e)) != 0 ||
        (rc = copy_field(row.actor_id, sizeof(row.actor_id), actor_id, "actor_id", e)) != 0 ||
        (rc = copy_field(row.action, sizeof(row.action), action, "action", e)) != 0 ||
        (rc = copy_field(row.target, sizeof(row.target), target, "target", e)) != 0 ||
        (rc = copy_field(row.ip, sizeof(row.ip), ip, "ip", e)) != 0 ||
        (rc = copy_field(row.details, sizeof(row.details), details ? details : "{}", "details", e)) != 0)
        goto out;
    row.at = time_now_ms();
    rc = store_audit_append(db, tenant_id, &row, ops_audit_hash, e);
out:
    return rc;
}

/* Walk state: the chain of the tenant being scanned. */
struct verify_state {
    char tenant_id[CORE_ID_MAX];
    int64_t last_seq;
    char last_hash[65];
    int64_t rows;
    FILE *report;
    struct err *e;
};

static int verify_fail(struct verify_state *st, const struct store_audit *row, const char *reason)
{
    if (st->report)
        fprintf(st->report, "tampered: tenant %s seq %" PRId64 ": %s\n", row->tenant_id, row->seq, reason);
    return err_set(st->e, ERR_CONFLICT, "audit_tampered", "tampered: tenant %s seq %" PRId64 ": %s",
                   row->tenant_id, row->seq, reason);
}

static int verify_row(void *ud, const struct store_audit *row)
{
    struct verify_state *st = ud;
    if (strcmp(st->tenant_id, row->tenant_id) != 0) {
        /* A new tenant's chain starts over. */
        snprintf(st->tenant_id, sizeof(st->tenant_id), "%s", row->tenant_id);
        st->last_seq = 0;
        st->last_hash[0] = '\0';
    }
    if (row->seq != st->last_seq + 1) {
        char reason[96];
        snprintf(reason, sizeof(reason), "sequence gap (expected seq %" PRId64 ")", st->last_seq + 1);
        return verify_fail(st, row, reason);
    }
    if (strcmp(row->prev_hash, st->last_hash) != 0)
        return verify_fail(st, row, "prev_hash does not match the previous row's hash");
    struct store_audit copy = *row;
    ops_audit_hash(&copy);
    if (!crypto_equal(copy.hash, strlen(copy.hash), row->hash, strlen(row->hash)))
        return verify_fail(st, row, "hash does not match the row's contents");
    st->last_seq = row->seq;
    memcpy(st->last_hash, row->hash, sizeof(st->last_hash));
    st->last_hash[64] = '\0';
    st->rows++;
    return 0;
}

int ops_audit_verify(struct store *db, FILE *report, int64_t *rows_checked, struct err *e)
{
    struct verify_state st;
    memset(&st, 0, sizeof(st));
    st.report = report;
    st.e = e;
    int rc = store_audit_scan(db, verify_row, &st, e);
    if (rows_checked)
        *rows_checked = st.rows;
    if (rc > 0) /* a callback value leaked through as positive: treat as tamper */
        rc = ERR_CONFLICT;
    return rc;
}

/* Thin: routes read the log through ops, never the store (DESIGN.md section 3). */
int ops_audit_list(struct store *db, const char *tenant_id, int64_t from, int64_t to, int64_t before_seq, int limit,
                   store_audit_cb cb, void *ud, struct err *e)
{
    return store_audit_list(db, tenant_id, from, to, before_seq, limit, cb, ud, e);
}
