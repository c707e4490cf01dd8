/*
 * channel: the adapter interface every provider implements, and the
 * registry of adapters (channel_twilio.c, channel_whatsapp.c, …).
 *
 * Adapters are pure: they know wire formats and talk HTTP with libcurl, and
 * never touch the database. The webhook pipeline hands them a request exactly
 * as received (raw body bytes, headers, the public URL the provider called)
 * and stores what they parse; the outbound worker hands them a send request
 * and stores the result. Provider base URLs come from the caller, so the same
 * code talks to the real hosts in production and to tests/fakes/ in tests.
 *
 * Memory: parse results and template lists are allocated in the caller's
 * arena and die with it.
 * Errors: ERR_FORBIDDEN (signature), ERR_INVALID (malformed payload),
 * ERR_UPSTREAM / ERR_TIMEOUT / ERR_RATELIMIT (send), each with a slug.
 */
#ifndef SB_CHANNEL_H
#define SB_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* A name/value pair: form fields, query parameters, headers, credentials. */
struct channel_kv {
    const char *name;
    const char *value;
};

/* An incoming webhook request, borrowed from the HTTP layer. */
struct channel_webhook {
    const char *method;             /* "GET" or "POST" */
    const char *url;                /* public URL as the provider called it: SB_PUBLIC_URL + path [+ "?" query] */
    const char *body;               /* raw bytes, byte for byte (never re-serialised) */
    size_t body_len;
    const struct channel_kv *headers; /* names lower-case */
    size_t nheaders;
    const struct channel_kv *query; /* decoded query parameters */
    size_t nquery;
    int64_t received_at;            /* Unix ms */
};

/* Decrypted credentials and settings of one channel account
 * (twilio: account_sid, auth_token, from; whatsapp: phone_number_id,
 * access_token, app_secret, verify_token, waba_id). Borrowed. */
struct channel_creds {
    const struct channel_kv *kv;
    size_t n;
};

/* The value of a credential, or NULL. */
const char *channel_creds_get(const struct channel_creds *c, const char *name);
/* Parse application/x-www-form-urlencoded text (a form body, or a URL's
 * query) of len bytes into name/value pairs allocated in a; empty pieces
 * are skipped, '+' is a space, a malformed escape is kept as written. */
void channel_form_parse(struct arena *a, const char *s, size_t len, struct channel_kv **out, size_t *nout);
/* The value of a header (name lower-case) or query parameter, or NULL. */
const char *channel_header(const struct channel_webhook *wh, const char *name);
const char *channel_query(const struct channel_webhook *wh, const char *name);

enum channel_event_kind {
    CHANNEL_EVENT_MESSAGE = 1,
    CHANNEL_EVENT_STATUS = 2,
    CHANNEL_EVENT_TEMPLATE_STATUS = 3, /* Meta's message_template_status_update: text = template name, status,
                                        * ref = language, provider_message_id = Meta's template id,
                                        * error_text = the reason (NULL for none) */
};

struct channel_media {
    const char *url;                /* Twilio MediaUrlN; WhatsApp: NULL (fetch by id) */
    const char *id;                 /* WhatsApp media id */
    const char *content_type;
};

/* One inbound message or status callback; strings live in the parse arena. */
struct channel_event {
    enum channel_event_kind kind;
    const char *event_id;           /* dedupe key: provider's id (MessageSid, wamid, wamid+status) */
    const char *provider_message_id;
    const char *from;               /* messages: sender address as given (E.164, wa_id) */
    const char *to;                 /* our number / phone number id */
    const char *contact_name;       /* WhatsApp profile name, or NULL */
    const char *type;               /* text, image, audio, video, document, location, interactive, … */
    const char *text;               /* body, button/list reply title, or NULL */
    const struct channel_media *media;
    size_t nmedia;
    double latitude, longitude;     /* type "location" */
    const char *status;             /* statuses: queued | sent | delivered | read | failed | undelivered */
    const char *error_code;         /* failures, or NULL */
    const char *error_text;
    int64_t provider_ts;            /* the provider's timestamp (Unix ms), 0 when it gives none */
    /* e-mail (NULL elsewhere) */
    const char *subject;
    const char *html;               /* the HTML alternative of text */
    const char *rfc_message_id;     /* Message-ID, with its angle brackets */
    const char *in_reply_to;        /* In-Reply-To */
    const char *references;         /* References, space-separated ids as given */
    /* Telegram /start deep links, Instagram story replies and mentions,
     * reactions (the reacted-to message id): a reference the message carries */
    const char *ref;
};

struct channel_events {
    struct channel_event *items;
    size_t n;
};

/* The normalised JSON of ev, the form events are stored in between the
 * webhook and the job that processes them:
 *   {"kind":"message"|"status","provider":…,"event_id":…,
 *    "provider_message_id":…,"from":…,"to":…,"contact_name":…,"type":…,
 *    "text":…,"media":[{"url":…,"id":…,"content_type":…}],
 *    "location":{"latitude":…,"longitude":…}|null,"status":…,
 *    "error":{"code":…,"text":…}|null,"provider_ts":<ms>,"received_at":<ms>}
 * Absent strings are null; deterministic (a hash of it is canonical). */
void channel_event_json(struct buf *out, const char *provider, const char *event_id, const struct channel_event *ev,
                        int64_t received_at);
/* Append media as the JSON array both forms use: [{"url","id","content_type"}]
 * (absent members null; [] when n is 0). */
void channel_media_json(struct buf *out, const struct channel_media *media, size_t n);
/* Read that JSON back (strings and media in a). *provider and *received_at
 * may be NULL. ERR_INVALID (slug invalid_json / invalid_payload). */
int channel_event_from_json(struct arena *a, const char *json, size_t len, struct channel_event *out,
                            const char **provider, int64_t *received_at, struct err *e);

/* An outbound message. Exactly one of text, template_name is set. */
struct channel_send {
    const char *to;
    const char *from;               /* sender (Twilio From); NULL: the account's default */
    const char *text;
    const char *const *media_urls;
    size_t nmedia;
    const char *template_name;      /* WhatsApp template */
    const char *template_lang;
    const char *const *template_params; /* body parameters, in order */
    size_t ntemplate_params;
    const char *status_callback_url; /* Twilio StatusCallback */
    const char *idempotency_key;    /* passed where the provider accepts one */
    const char *origin;             /* who sends: agent | api | assistant | campaign | system */
    int64_t last_inbound_at;        /* the customer's last message on this account (Unix ms), 0 = never:
                                     * adapters with windows pick the message type or tag from it */
    /* e-mail */
    const char *subject;
    const char *html;               /* HTML alternative of text, or NULL */
    const char *message_id;         /* our Message-ID for this message, with angle brackets */
    const char *in_reply_to;        /* threading: the customer's last Message-ID, or NULL */
    const char *references;         /* space-separated Message-IDs, or NULL */
    const char *unsubscribe_url;    /* one-click unsubscribe (RFC 8058), or NULL */
};

struct channel_send_result {
    char provider_message_id[128];
    char status[16];                /* the provider's initial status, e.g. "queued" / "sent" */
    int http_status;                /* 0 when no response */
    int permanent;                  /* 1: retrying cannot help (bad number, blocked) */
    int recipient_blocked;          /* 1: the recipient blocked us (Telegram 403): suppress the address */
    int retry_after_s;              /* 429 / Retry-After, else 0 */
    char error_code[32];            /* provider error code, or "" */
    char error_text[256];           /* provider message, or ours */
};

/* Kept-alive provider connections (channel_pool_new): a bounded stack of
 * libcurl easy handles, each used by one request at a time and reset
 * between requests, that keep their open TCP/TLS connections. Sharing the
 * connection cache itself through a CURLSH (CURL_LOCK_DATA_CONNECT) is not
 * supported by libcurl between concurrent threads, so reuse goes through
 * whole handles instead. Thread-safe. */
struct channel_pool;

/* Where and how adapters reach providers. */
struct channel_env {
    const char *twilio_api_base;    /* https://api.twilio.com */
    const char *graph_api_base;     /* https://graph.facebook.com/v21.0 */
    const char *telegram_api_base;  /* https://api.telegram.org */
    const char *sendgrid_api_base;  /* https://api.sendgrid.com */
    long timeout_ms;                /* whole request */
    void *curl_share;               /* a CURLSH * sharing the DNS cache and TLS sessions between requests,
                                     * with lock callbacks (safe across threads), or NULL */
    struct channel_pool *pool;      /* reused connections, or NULL: a new connection per request */
};

/* A pool keeping at most max_idle handles (<= 0 means 64) between requests;
 * its handles use curl_share (a CURLSH *, may be NULL). ERR_NOMEM. */
int channel_pool_new(struct channel_pool **out, void *curl_share, int max_idle, struct err *e);
/* After every request through the pool has finished. NULL is a no-op. */
void channel_pool_free(struct channel_pool *p);
/* Connections opened so far by requests through the pool (new TCP
 * connections, i.e. not reused ones): for metrics and tests. */
uint64_t channel_pool_connections(const struct channel_pool *p);

struct channel_caps {
    size_t max_text_len;            /* characters (bytes for ASCII) */
    const char *media_types;        /* space-separated MIME types accepted */
    size_t max_media_bytes;
    int64_t window_ms;              /* customer service window; 0 = none */
    int64_t human_agent_window_ms;  /* a person's reply may still go this long after the customer's last
                                     * message (Instagram HUMAN_AGENT: 7 days); 0 = no such extension */
    int transactional_only;         /* 1: no campaigns or marketing templates (Instagram) */
};

/* A message template as the provider lists it; strings live in the caller's arena. */
struct channel_template {
    const char *name;
    const char *language;           /* en_US, pt_BR, … */
    const char *status;             /* lower-case: approved | pending | rejected | paused | disabled | … */
    const char *category;           /* as the provider names it: MARKETING, UTILITY, AUTHENTICATION */
    const char *body;               /* the BODY component's text ("{{1}}" placeholders), "" when none */
};

struct channel_templates {
    struct channel_template *items;
    size_t n;
    int complete;                   /* 1: every page was read (0: stopped at the page limit) */
};

/* A template to submit for the provider's review (WhatsApp: Meta's
 * message_templates); strings borrowed. */
struct channel_template_submit {
    const char *provider_id;        /* the provider's id when it knows the template (an edit), else NULL */
    const char *name;
    const char *language;
    const char *category;           /* MARKETING | UTILITY | AUTHENTICATION */
    const char *header;             /* text header, or NULL */
    const char *body;               /* with {{1}} … {{n}} */
    const char *footer;             /* or NULL */
    const char *buttons;            /* JSON array of {type, text, url | phone_number}, or NULL */
    int nvariables;                 /* body placeholders: examples are sent for each */
};

struct channel_template_result {
    char provider_id[64];           /* the provider's template id ("" when it gave none) */
    char status[24];                /* lower-case: pending | approved | rejected | … */
};

/* What a credentials check found (test_connection). */
struct channel_test_result {
    int ok;                         /* 1: the provider accepted the credentials */
    char detail[256];               /* human-readable: who we are at the provider, or why it refused */
    char code[64];                  /* the provider's error code when it gave one ("" = none) */
    int http_status;                /* the provider's HTTP status (0: none, or not HTTP) */
};

struct channel_adapter {
    const char *name;               /* "twilio", "whatsapp" */
    struct channel_caps caps;
    /* Check the webhook's signature against creds before anything else.
     * 0, or ERR_FORBIDDEN with slug "bad_signature" / "missing_signature". */
    int (*verify)(const struct channel_webhook *wh, const struct channel_creds *creds, struct err *e);
    /* Subscription handshake on GET (WhatsApp); append the response body to
     * out and return 0, ERR_FORBIDDEN when refused, ERR_NOTFOUND when the
     * provider has none. NULL when the provider has no handshake. */
    int (*handshake)(const struct channel_webhook *wh, const struct channel_creds *creds, struct buf *out,
                     struct err *e);
    /* Parse a verified webhook into events (messages and statuses, in order;
     * one request may carry several). ERR_INVALID for malformed payloads. */
    int (*parse)(struct arena *a, const struct channel_webhook *wh, struct channel_events *out, struct err *e);
    /* Send one message. Returns 0 when the provider accepted it; otherwise
     * fills out (permanent, retry_after_s, codes) and returns ERR_UPSTREAM,
     * ERR_TIMEOUT, ERR_RATELIMIT or ERR_INVALID (permanent refusal). */
    int (*send)(const struct channel_env *env, const struct channel_creds *creds, const struct channel_send *msg,
                struct channel_send_result *out, struct err *e);
    /* The account's message templates, every page (bounded). ERR_INVALID
     * "waba_id_required" when the credentials name no business account;
     * provider refusals are ERR_UPSTREAM "provider_rejected" (bad token,
     * unknown account), else ERR_UPSTREAM / ERR_TIMEOUT / ERR_RATELIMIT.
     * NULL when the provider has no template API (Twilio). */
    int (*list_templates)(struct arena *a, const struct channel_env *env, const struct channel_creds *creds,
                          struct channel_templates *out, struct err *e);
    /* Submit a template (new, or an edit when t->provider_id is set) for
     * the provider's review. ERR_UPSTREAM "provider_rejected" when the
     * provider refuses it (the message says why), else like list_templates.
     * NULL when the provider has no template API. */
    int (*submit_template)(const struct channel_env *env, const struct channel_creds *creds,
                           const struct channel_template_submit *t, struct channel_template_result *out,
                           struct err *e);
    /* Download one inbound media item into out with the provider's
     * authentication (Twilio basic auth, WhatsApp's media id lookup, Telegram
     * getFile): at most max_bytes (ERR_TOOLARGE "media_too_large" beyond);
     * content_type receives the provider's type ("" when it gives none).
     * ERR_UPSTREAM / ERR_TIMEOUT like send. NULL when media->url needs no
     * authentication (a plain GET). */
    int (*fetch_media)(const struct channel_env *env, const struct channel_creds *creds,
                       const struct channel_media *media, size_t max_bytes, struct buf *out, char *content_type,
                       size_t ctlen, struct err *e);
    /* Connect a new account to the provider before it is stored: learn the
     * account's own address (Telegram getMe: the bot's username, else its
     * id) into address (addrlen bytes) and point the provider's webhook at
     * webhook_url (Telegram setWebhook with the account's secret_token).
     * ERR_UPSTREAM "provider_rejected" when the provider refuses (bad token,
     * URL it will not call), else ERR_UPSTREAM / ERR_TIMEOUT / ERR_RATELIMIT.
     * NULL when the operator pastes the webhook URL at the provider by hand
     * (Twilio, Meta). */
    int (*register_webhook)(const struct channel_env *env, const struct channel_creds *creds, const char *webhook_url,
                            char *address, size_t addrlen, struct err *e);
    /* Check the credentials with the provider's cheapest authenticated
     * call (Twilio: the account resource; Meta: the phone number or page
     * node; Telegram: getMe; SendGrid: /v3/scopes; SMTP: a session up to
     * AUTH, then QUIT), nothing sent or changed. Returns 0 whenever the
     * check ran to an answer: out->ok says whether the provider accepted,
     * out->detail says what it said (never a credential). ERR_TIMEOUT /
     * ERR_UPSTREAM only when the provider could not be reached, with out
     * filled the same way. NULL: nothing to check (always fine). */
    int (*test_connection)(const struct channel_env *env, const struct channel_creds *creds,
                           struct channel_test_result *out, struct err *e);
};

/* GET url into out (the fetch_media hooks and the plain download of media
 * that needs no authentication): http(s) only; userpwd (basic auth) and
 * bearer optional and sent to url's host only; follow: up to 3 redirects.
 * At most max_bytes: ERR_TOOLARGE "media_too_large" (a larger
 * Content-Length is refused before the body). content_type (may be NULL)
 * receives the response's Content-Type ("" when none), *status (may be
 * NULL) its status. A 2xx is 0; 429 ERR_RATELIMIT; 5xx ERR_UPSTREAM
 * "provider_error"; another status ERR_UPSTREAM "fetch_refused" (retrying
 * will not help); ERR_TIMEOUT; ERR_UPSTREAM "provider_unreachable";
 * ERR_INVALID "invalid_media_url". out is empty after an error. */
int channel_fetch_url(const struct channel_env *env, const char *url, const char *userpwd, const char *bearer,
                      int follow, size_t max_bytes, struct buf *out, char *content_type, size_t ctlen,
                      long *status, struct err *e);

/* The adapter for a provider name, or NULL. */
const struct channel_adapter *channel_find(const char *provider);

#endif
