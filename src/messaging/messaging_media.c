/*
 * messaging_media: inbound media downloaded into the media store.
 *
 * When an inbound message with media is recorded, each item of its media
 * array gets a "media_id" and "status": "pending", a pending row in table
 * media and a media.fetch job, all in the message's transaction, so no item
 * is forgotten. The job downloads the item through the account's adapter
 * (media_fetch: the provider's authentication), stores it under its content
 * hash with the type its bytes show (the file is held in memory, at most
 * SB_MEDIA_MAX_BYTES; a download may take a minute), then in one write marks the row
 * stored, sets the item's "status" and "size" in the message's media array
 * and appends a message.updated event. Failures never touch the message
 * beyond its item's status: a file too large, a provider that refuses
 * (4xx) or an item without anything to fetch is recorded as failed at
 * once; provider 5xx, timeouts, 429 and local I/O errors retry with
 * backoff (ten tries over up to about half an hour), and after the last try the row is failed ("fetch_failed") and
 * the job goes to the dead-letter queue, from where an admin's retry
 * fetches again.
 */
#include <stdlib.h>
#include <string.h>

#include "messaging/messaging_int.h"

#define MEDIA_FETCH_TIMEOUT_MS 60000L

char *messaging__media_json_new(const struct channel_event *ev)
{
    struct buf b = {0};
    char id[CORE_ID_MAX];

    if (!ev->nmedia)
        return NULL;
    buf_putc(&b, '[');
    for (size_t i = 0; i < ev->nmedia; i++) {
        const struct channel_media *md = &ev->media[i];
        crypto_time_id(id, sizeof(id), "med", time_now_ms());
        buf_puts(&b, i ? ",{\"url\":" : "{\"url\":");
        buf_json_str(&b, md->url);
        buf_puts(&b, ",\"id\":");
        buf_json_str(&b, md->id);
        buf_puts(&b, ",\"content_type\":");
        buf_json_str(&b, md->content_type);
        buf_puts(&b, ",\"media_id\":");
        buf_json_str(&b, id);
        buf_puts(&b, ",\"status\":\"pending\"}");
    }
    buf_putc(&b, ']');
    return buf_steal(&b);
}

int messaging__media_queue_tx(struct messaging *m, struct store_tx *tx, const char *tenant_id, const char *message_id,
                              const char *account_id, const char *media_json, struct err *e)
{
    cJSON *arr = NULL;
    const cJSON *it;
    int rc, i = 0;
    int64_t now = time_now_ms();

    if ((rc = json_parse(&arr, media_json, strlen(media_json), e)))
        return rc;
    cJSON_ArrayForEach(it, arr) {
        struct store_media row;
        const char *mid = json_str(it, "media_id"), *url = json_str(it, "url"), *pid = json_str(it, "id");
        const char *ct = json_str(it, "content_type");
        char payload[CORE_ID_MAX + 32], key[CORE_ID_MAX + 8];
        int too_long;

        if (!mid) {
            i++;
            continue;
        }
        memset(&row, 0, sizeof(row));
        snprintf(row.id, sizeof(row.id), "%s", mid);
        snprintf(row.message_id, sizeof(row.message_id), "%s", message_id);
        snprintf(row.account_id, sizeof(row.account_id), "%s", account_id);
        row.item = i++;
        too_long = (url && strlen(url) >= sizeof(row.source_url)) ||
                   (pid && strlen(pid) >= sizeof(row.provider_media_id));
        if (!too_long) {
            snprintf(row.source_url, sizeof(row.source_url), "%s", url ? url : "");
            snprintf(row.provider_media_id, sizeof(row.provider_media_id), "%s", pid ? pid : "");
        }
        snprintf(row.provider_content_type, sizeof(row.provider_content_type), "%s", ct ? ct : "");
        row.created_at = row.updated_at = now;
        if ((rc = store_media_insert(tx, tenant_id, &row, e)))
            break;
        if (too_long) { /* kept as a failed item: nothing we could fetch */
            snprintf(row.status, sizeof(row.status), "failed");
            snprintf(row.error_code, sizeof(row.error_code), "invalid_media_url");
            snprintf(row.error_text, sizeof(row.error_text), "the media URL or id is too long to fetch");
            if ((rc = store_media_update(tx, tenant_id, &row, e)))
                break;
            continue;
        }
        snprintf(payload, sizeof(payload), "{\"media_id\":\"%s\"}", mid);
        snprintf(key, sizeof(key), "media:%s", mid);
        if ((rc = queue_push_tx(m->queue, tx, tenant_id, MESSAGING_JOB_MEDIA, payload, key, 0, NULL, NULL, e)))
            break;
    }
    cJSON_Delete(arr);
    return rc;
}

/* ------------------------------------------------------------------ job */

struct media_write {
    struct messaging *m;
    const char *tenant_id;
    struct store_media *row;
    struct messaging__events ev;
};

static int copy_media_json(void *ud, const struct store_message *msg)
{
    char **out = ud;
    *out = msg->media && *msg->media ? strdup(msg->media) : NULL;
    return 0;
}

/* The message's item for this media: "status" (and "size" once stored). */
static int update_item(struct store_tx *tx, const char *tenant_id, const struct store_media *row, int *changed,
                       struct err *e)
{
    char *json = NULL, *out = NULL;
    cJSON *arr = NULL, *it;
    int rc;

    *changed = 0;
    if ((rc = crm_message_get_tx(tx, tenant_id, row->message_id, copy_media_json, &json, e)))
        return rc;
    if (!json || json_parse(&arr, json, strlen(json), NULL) != 0 || !cJSON_IsArray(arr))
        goto out;
    cJSON_ArrayForEach(it, arr) {
        const char *mid = json_str(it, "media_id");
        if (!mid || strcmp(mid, row->id) != 0)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(it, "status");
        cJSON_DeleteItemFromObjectCaseSensitive(it, "size");
        cJSON_AddStringToObject(it, "status", row->status);
        if (strcmp(row->status, "stored") == 0)
            cJSON_AddNumberToObject(it, "size", (double)row->size);
        *changed = 1;
    }
    if (*changed) {
        out = json_print(arr);
        rc = store_message_media_set(tx, tenant_id, row->message_id, out, time_now_ms(), e);
    }
out:
    cJSON_Delete(arr);
    free(json);
    free(out);
    return rc;
}

static int media_write_run(void *ud, struct store_tx *tx, struct err *e)
{
    struct media_write *w = ud;
    struct buf json = {0};
    int rc, changed = 0;

    if ((rc = store_media_update(tx, w->tenant_id, w->row, e)))
        return rc;
    if ((rc = update_item(tx, w->tenant_id, w->row, &changed, e)))
        return rc == ERR_NOTFOUND ? 0 : rc; /* the message is gone: the row is enough */
    if (!changed)
        return 0;
    if ((rc = messaging__message_json_tx(tx, w->tenant_id, w->row->message_id, &json, e)))
        return rc;
    messaging__events_add(&w->ev, w->tenant_id, "message.updated", buf_steal(&json));
    return messaging__events_flush(&w->ev, tx, e);
}

/* Write the row's outcome (and the message's item); 0 or the error. */
static int record(struct messaging *m, const char *tenant_id, struct store_media *row, struct err *e)
{
    struct media_write w = {m, tenant_id, row, {0}};
    row->updated_at = time_now_ms();
    int rc = messaging__write(m, media_write_run, &w, e);
    messaging__events_free(&w.ev);
    if (rc == 0)
        messaging__notify(m);
    return rc;
}

static int record_failed(struct messaging *m, const char *tenant_id, struct store_media *row, const char *code,
                         const char *text, struct queue_result *res)
{
    struct err e = {0};
    snprintf(row->status, sizeof(row->status), "failed");
    snprintf(row->error_code, sizeof(row->error_code), "%s", code);
    snprintf(row->error_text, sizeof(row->error_text), "%s", text);
    if (record(m, tenant_id, row, &e) != 0) {
        snprintf(res->error, sizeof(res->error), "recording media %s failed: %s", row->id, e.msg);
        return QUEUE_RETRY;
    }
    return QUEUE_DONE;
}

/* Whether a download error can go away by itself. */
static int transient(const struct err *e)
{
    if (e->code == ERR_TIMEOUT || e->code == ERR_RATELIMIT || e->code == ERR_IO || e->code == ERR_NOMEM)
        return 1;
    if (e->code == ERR_UPSTREAM)
        return strcmp(err_slug(e), "fetch_refused") != 0;
    return 0;
}

int messaging__media_job(void *ud, const struct queue_job *job, struct queue_result *res)
{
    struct messaging *m = ud;
    const struct messaging_account_ref *ref = NULL;
    struct store_media row;
    struct channel_media item;
    struct buf data = {0};
    struct media_kind kind;
    char fetched_ct[MEDIA_TYPE_MAX], key[MEDIA_KEY_MAX], sha[65];
    struct err e = {0};
    cJSON *p = NULL;
    const char *id;
    int rc, outcome = QUEUE_RETRY;

    if (json_parse(&p, job->payload, strlen(job->payload), &e) != 0 || !(id = json_str(p, "media_id"))) {
        snprintf(res->error, sizeof(res->error), "payload without media_id");
        outcome = QUEUE_FAIL;
        goto out;
    }
    rc = store_media_get(m->db, job->tenant_id, id, &row, &e);
    if (rc == ERR_NOTFOUND) { /* its message was deleted */
        outcome = QUEUE_DONE;
        goto out;
    }
    if (rc) {
        snprintf(res->error, sizeof(res->error), "%s", e.msg);
        goto out;
    }
    if (strcmp(row.status, "stored") == 0) { /* a re-run after the work was recorded */
        outcome = QUEUE_DONE;
        goto out;
    }
    row.attempts = job->attempt;
    rc = messaging_account_get(m, job->tenant_id, row.account_id, &ref, &e);
    if (rc == ERR_NOTFOUND) {
        outcome = record_failed(m, job->tenant_id, &row, "account_removed",
                                "the channel account was removed before the media was downloaded", res);
        goto out;
    }
    if (rc) {
        snprintf(res->error, sizeof(res->error), "%s", e.msg);
        goto out;
    }
    memset(&item, 0, sizeof(item));
    item.url = row.source_url[0] ? row.source_url : NULL;
    item.id = row.provider_media_id[0] ? row.provider_media_id : NULL;
    item.content_type = row.provider_content_type[0] ? row.provider_content_type : NULL;
    /* A file takes longer than an API answer: at least a minute. */
    struct channel_env env = m->env;
    if (env.timeout_ms < MEDIA_FETCH_TIMEOUT_MS)
        env.timeout_ms = MEDIA_FETCH_TIMEOUT_MS;
    rc = media_fetch(&env, ref->adapter, &ref->creds, &item, media_max_bytes(m->media), &data, fetched_ct,
                     sizeof(fetched_ct), &e);
    if (rc == 0) {
        media_classify(item.content_type ? item.content_type : fetched_ct, data.data, data.len, &kind);
        rc = media_file_put(m->media, job->tenant_id, data.data ? data.data : "", data.len, key, sha, &e);
    }
    if (rc && transient(&e)) {
        if (job->attempt < job->max_attempts) {
            snprintf(res->error, sizeof(res->error), "media %s: %s (%s)", row.id, e.msg, err_slug(&e));
            if (e.code == ERR_RATELIMIT)
                res->retry_after_ms = 60000;
            goto out;
        }
        outcome = record_failed(m, job->tenant_id, &row, "fetch_failed", e.msg, res);
        if (outcome == QUEUE_DONE) { /* to the dead-letter queue, where an admin can retry */
            outcome = QUEUE_FAIL;
            snprintf(res->error, sizeof(res->error), "media %s: %s (%s)", row.id, e.msg, err_slug(&e));
        }
        goto out;
    }
    if (rc) {
        outcome = record_failed(m, job->tenant_id, &row, err_slug(&e), e.msg, res);
        goto out;
    }
    snprintf(row.status, sizeof(row.status), "stored");
    snprintf(row.content_type, sizeof(row.content_type), "%s", kind.content_type);
    snprintf(row.sha256, sizeof(row.sha256), "%s", sha);
    snprintf(row.storage_key, sizeof(row.storage_key), "%s", key);
    row.size = (int64_t)data.len;
    row.error_code[0] = row.error_text[0] = '\0';
    if ((rc = record(m, job->tenant_id, &row, &e)) != 0) {
        snprintf(res->error, sizeof(res->error), "recording media %s failed: %s", row.id, e.msg);
        goto out;
    }
    outcome = QUEUE_DONE;
out:
    messaging_account_release(ref);
    buf_free(&data);
    cJSON_Delete(p);
    return outcome;
}
