/*
 * assistant_turn: what the assistant does with one inbound message, as a
 * decision (send, draft, hand over, emergency, skip) with its reason.
 *
 * The order is fixed (see assistant.h): skip, emergency phrases, input
 * safety, small talk or intent, retrieval, the answer (LLM through the
 * breaker, else extractive), citations, output safety, the intent's
 * action, the mode. A turn never SENDs text that is not grounded in the
 * passages it was given (small talk aside) or that the output checks
 * refused. It reads the knowledge base and writes nothing; the caller
 * stores drafts, logs and usage. Everything but a store error is a decision.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assistant/assistant_int.h"

#define TURN_K 5                  /* passages retrieved */
#define TURN_MESSAGES_MAX 16      /* system + history (10) + question, with room */
#define TURN_ALTERNATIVES 2
#define TURN_MAX_TOKENS 400
#define TURN_TEMPERATURE 0.2

const char *assistant_action_name(enum assistant_action a)
{
    switch (a) {
    case ASSISTANT_SEND: return "send";
    case ASSISTANT_DRAFT: return "draft";
    case ASSISTANT_HANDOVER: return "handover";
    case ASSISTANT_EMERGENCY: return "emergency";
    case ASSISTANT_SKIP: return "skip";
    }
    return "";
}

void assistant_turn_free(struct assistant_turn *t)
{
    if (!t)
        return;
    buf_free(&t->text);
    buf_free(&t->alternatives);
    buf_free(&t->prompt_log);
    buf_free(&t->response_log);
}

int assistant_turn_intents(const struct assistant_config *cfg, struct assistant_intents **out, struct err *e)
{
    struct assistant_intent *in = NULL;
    *out = NULL;
    if (cfg->nintents > 0) {
        in = calloc((size_t)cfg->nintents, sizeof *in);
        if (!in)
            return err_set(e, ERR_NOMEM, NULL, "out of memory");
    }
    for (int i = 0; i < cfg->nintents; i++) {
        in[i].name = cfg->intents[i].name;
        in[i].examples = cfg->intents[i].examples;
        in[i].nexamples = cfg->intents[i].nexamples;
        in[i].action = cfg->intents[i].action ? cfg->intents[i].action : "answer";
    }
    int rc = assistant_intents_new(out, in, cfg->nintents, cfg->emergency_phrases, cfg->nemergency,
                                   cfg->intent_threshold, e);
    free(in);
    return rc;
}

/* --------------------------------------------------------------- helpers */

static int is_es(const char *language)
{
    return language && strncmp(language, "es", 2) == 0;
}

static const char *emergency_text(const char *language)
{
    if (is_es(language))
        return "Esto parece urgente. Si alguien está en peligro, llama ahora al número de emergencias. "
               "Estamos avisando a nuestro equipo.";
    return "This sounds urgent. If anyone is in danger, call your local emergency number now. "
           "We are alerting our team.";
}

/* The reply to small talk when no LLM gives one. */
static void small_talk_reply(int kind, const char *language, const char *name, struct buf *out)
{
    int es = is_es(language);
    if (kind == ASSISTANT_SMALL_TALK_THANKS)
        buf_puts(out, es ? "¡De nada! ¿Puedo ayudarte en algo más?"
                         : "You're welcome! Is there anything else I can help you with?");
    else if (kind == ASSISTANT_SMALL_TALK_GOODBYE)
        buf_puts(out, es ? "¡Hasta pronto, y gracias por escribirnos!" : "Goodbye, and thank you for writing to us!");
    else if (es)
        buf_printf(out, "¡Hola! Soy %s. ¿En qué puedo ayudarte?", name);
    else
        buf_printf(out, "Hello! I'm %s. How can I help you?", name);
}

/* Append "; " and a note to the reason (or set it when empty). */
static void add_reason(struct assistant_turn *t, const char *note)
{
    size_t k = strlen(t->reason);
    snprintf(t->reason + k, sizeof t->reason - k, "%s%s", k ? "; " : "", note);
}

struct turn__found {
    struct arena *arena;
    struct assistant_passage p[TURN_K];
    int n;
};

static int keep_passage(void *ud, const struct assistant_passage *p)
{
    struct turn__found *f = ud;
    if (f->n >= TURN_K)
        return 0;
    struct assistant_passage *c = &f->p[f->n++];
    c->chunk_id = p->chunk_id;
    c->document_id = arena_strdup(f->arena, p->document_id ? p->document_id : "");
    c->title = arena_strdup(f->arena, p->title ? p->title : "");
    c->text = arena_strdup(f->arena, p->text ? p->text : "");
    c->score = p->score;
    return 0;
}

/* Share of the question's distinct terms found in a passage's title and text. */
static double coverage(const char *question, const struct assistant_passage *ps)
{
    struct buf q = {0}, t = {0}, seen = {0};
    int nq = 0, hit = 0;
    assistant_terms(question, &q);
    assistant_terms(ps->title, &t);
    assistant_terms(ps->text, &t);
    const char *p = q.data, *end = q.data + q.len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        size_t n = (size_t)(nl - p);
        if (!assistant__has_line(&seen, p, n)) {
            buf_append(&seen, p, n + 1);
            nq++;
            hit += assistant__has_line(&t, p, n);
        }
        p = nl + 1;
    }
    buf_free(&q);
    buf_free(&t);
    buf_free(&seen);
    return nq ? (double)hit / nq : 0;
}

/* What a passage says as a reply: the A part of a Q/A chunk, else its text. */
static const char *passage_answer(const char *text)
{
    if (text && strncmp(text, "Q:", 2) == 0) {
        const char *a = strstr(text, "\nA:");
        if (a) {
            a += 3;
            while (*a == ' ')
                a++;
            return a;
        }
    }
    return text ? text : "";
}

/* The model said it does not know: the answer is "UNKNOWN" (any case,
 * punctuation around it), or holds the word UNKNOWN in capitals. */
static int says_unknown(const char *answer)
{
    const char *s = answer, *e;
    while (*s && (isspace((unsigned char)*s) || strchr(".,;:!?\"'*`()", *s)))
        s++;
    e = s + strlen(s);
    while (e > s && (isspace((unsigned char)e[-1]) || strchr(".,;:!?\"'*`()", e[-1])))
        e--;
    if (e - s == 7 && strncasecmp(s, "unknown", 7) == 0)
        return 1;
    for (const char *p = strstr(answer, "UNKNOWN"); p; p = strstr(p + 7, "UNKNOWN"))
        if ((p == answer || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[7]))
            return 1;
    return 0;
}

static int cited(const struct assistant_turn *t, int64_t id)
{
    for (int i = 0; i < t->ncited; i++)
        if (t->cited[i] == id)
            return 1;
    return 0;
}

/* Other candidate replies for the reviewer: the next passages (in rank
 * order) that share a word with the question, as the extractive provider
 * would answer with them; an extractive reply's own passage is left out. */
static void alternatives(struct assistant_turn *t, const char *question, const struct assistant_passage *ps, int np,
                         int skip_cited)
{
    int n = 0;
    buf_reset(&t->alternatives);
    buf_putc(&t->alternatives, '[');
    for (int i = 0; i < np && n < TURN_ALTERNATIVES; i++) {
        if ((skip_cited && cited(t, ps[i].chunk_id)) || coverage(question, &ps[i]) <= 0)
            continue;
        if (n++)
            buf_putc(&t->alternatives, ',');
        buf_json_str(&t->alternatives, passage_answer(ps[i].text));
    }
    buf_putc(&t->alternatives, ']');
}

static void reset(struct assistant_turn *t)
{
    buf_reset(&t->text);
    buf_reset(&t->alternatives);
    buf_reset(&t->prompt_log);
    buf_reset(&t->response_log);
    t->action = ASSISTANT_SKIP;
    t->intent[0] = '\0';
    t->confidence = 0;
    t->reason[0] = '\0';
    snprintf(t->provider, sizeof t->provider, "none");
    t->model[0] = '\0';
    t->prompt_tokens = t->completion_tokens = 0;
    t->latency_ms = 0;
    t->ncited = 0;
}

static const struct assistant_config_intent *config_intent(const struct assistant_config *cfg, const char *name)
{
    for (int i = 0; name && i < cfg->nintents; i++)
        if (cfg->intents[i].name && strcmp(cfg->intents[i].name, name) == 0)
            return &cfg->intents[i];
    return NULL;
}

/* ------------------------------------------------------------------ turn */

int assistant_turn_run(struct store *db, const struct assistant_turn_input *in, struct assistant_turn *out,
                       struct err *e)
{
    const struct assistant_config *cfg = in->cfg;
    struct assistant_intents *own_intents = NULL;
    const struct assistant_intents *classifier = in->intents;
    struct assistant_intent_match m;
    struct turn__found found = {0};
    struct assistant_answer ans = {0};
    struct assistant_llm_message msgs[TURN_MESSAGES_MAX];
    struct buf tmp = {0}, clean = {0};
    struct err le;
    int rc = 0;
    int64_t t0 = time_mono_ns();

    reset(out);
    buf_puts(&out->alternatives, "[]");
    found.arena = arena_new();
    const char *text = in->text ? in->text : "";
    const char *language = in->language && *in->language ? in->language
                           : cfg->nlanguages > 0          ? cfg->languages[0]
                                                          : "en";

    /* 1. Nothing to do. */
    if (!cfg->enabled) {
        snprintf(out->reason, sizeof out->reason, "the assistant is disabled");
        goto out;
    }
    int ch = assistant_channel_index(in->channel);
    if (ch < 0 || !cfg->channels[ch]) {
        snprintf(out->reason, sizeof out->reason, "the assistant is off on channel %.40s",
                 in->channel ? in->channel : "(none)");
        goto out;
    }
    if (!cfg->hours_always && !in->in_hours) {
        snprintf(out->reason, sizeof out->reason, "outside working hours");
        goto out;
    }

    /* 2. Emergency phrases win over everything else, input checks included
     *    (a message about self-harm may well also read as abusive). */
    err_clear(&le);
    if (!classifier) {
        if (assistant_turn_intents(cfg, &own_intents, &le) != 0) {
            out->action = ASSISTANT_HANDOVER;
            snprintf(out->reason, sizeof out->reason, "intents: %.200s", le.msg);
            goto out;
        }
        classifier = own_intents;
    }
    assistant_intents_classify(classifier, text, &m);
    if (m.emergency) {
        out->action = ASSISTANT_EMERGENCY;
        snprintf(out->intent, sizeof out->intent, "emergency");
        out->confidence = 1;
        buf_puts(&out->text, emergency_text(language));
        snprintf(out->reason, sizeof out->reason, "%.200s", m.reason);
        goto out;
    }

    /* 3. What the customer wrote. */
    struct assistant_verdict v;
    assistant_safety_input(text, &v);
    if (!v.ok) {
        out->action = ASSISTANT_HANDOVER;
        buf_puts(&out->text, assistant_neutral_response(language));
        snprintf(out->reason, sizeof out->reason, "unsafe input: %.32s: %.190s", v.code, v.reason);
        goto out;
    }

    /* 4. Small talk, or the intent. Without configured intents every
     *    question goes to the knowledge base at full intent confidence. */
    int small = assistant_small_talk(text);
    double intent_conf = 1;
    const struct assistant_config_intent *ci = NULL;
    if (small) {
        snprintf(out->intent, sizeof out->intent, "small_talk");
    } else if (cfg->nintents > 0) {
        /* Under the threshold the intent is unknown; the reason names the closest. */
        snprintf(out->intent, sizeof out->intent, "%s", m.name && !m.handover ? m.name : "");
        intent_conf = m.confidence;
        out->confidence = m.confidence;
        if (m.handover) {
            out->action = ASSISTANT_HANDOVER;
            buf_puts(&out->text, cfg->unknown_answer);
            snprintf(out->reason, sizeof out->reason, "low intent confidence: %.200s", m.reason);
            goto out;
        }
        ci = config_intent(cfg, m.name);
        const char *action = m.action ? m.action : "answer";
        if (strcmp(action, "handover") == 0) {
            out->action = ASSISTANT_HANDOVER;
            snprintf(out->reason, sizeof out->reason, "intent %.60s: action handover", out->intent);
            goto out;
        }
        if (strcmp(action, "emergency") == 0) {
            out->action = ASSISTANT_EMERGENCY;
            buf_puts(&out->text, emergency_text(language));
            snprintf(out->reason, sizeof out->reason, "intent %.60s: action emergency", out->intent);
            goto out;
        }
    }

    /* 5. Retrieval. A query with no words finds nothing; that is a decision. */
    if (!small) {
        rc = assistant_kb_search(db, in->tenant_id, text, TURN_K, keep_passage, &found, e);
        if (rc == ERR_INVALID) {
            rc = 0;
            found.n = 0;
        } else if (rc) {
            goto out;
        }
    }
    /* Titles are not indexed, so the index can rank a passage that merely
     * mentions a word above the one titled by it: reorder the few passages
     * by the share of the question they hold, title included, keeping the
     * index's order among equals. */
    double cover[TURN_K];
    for (int i = 0; i < found.n; i++)
        cover[i] = coverage(text, &found.p[i]);
    for (int i = 1; i < found.n; i++)
        for (int j = i; j > 0 && cover[j] > cover[j - 1] + 1e-9; j--) {
            struct assistant_passage p = found.p[j];
            double c = cover[j];
            found.p[j] = found.p[j - 1];
            cover[j] = cover[j - 1];
            found.p[j - 1] = p;
            cover[j - 1] = c;
        }
    if (!small && found.n == 0 && cfg->kb_only) {
        out->action = ASSISTANT_HANDOVER;
        buf_puts(&out->text, cfg->unknown_answer);
        snprintf(out->reason, sizeof out->reason, "not answered: no passage was retrieved");
        goto out;
    }

    /* 6. The answer: the LLM through the breaker, falling back to the
     *    extractive provider, else a handover. */
    int use_llm = cfg->provider_kind && strcmp(cfg->provider_kind, "openai") == 0 && cfg->base_url && *cfg->base_url;
    const char *model = ci && ci->model && *ci->model ? ci->model : cfg->model;
    struct assistant_llm_config lc = {
        .base_url = cfg->base_url,
        .model = model,
        .api_key = in->api_key,
        .timeout_ms = in->llm_timeout_ms,
        .max_attempts = 2,
        .backoff_base_ms = 200,
        .backoff_max_ms = 2000,
    };
    struct assistant_llm_request req = {.temperature = TURN_TEMPERATURE, .max_tokens = TURN_MAX_TOKENS};
    if (use_llm) {
        int nm = assistant_prompt_build(found.arena, cfg, language, found.p, found.n, in->history, in->nhistory, text,
                                        msgs, TURN_MESSAGES_MAX);
        /* The channel's length is the turn's to know, not the prompt's. */
        if (cfg->max_length[ch] > 0)
            msgs[0].content = arena_printf(found.arena, "%s\n\nThe reply goes out by %s: at most %d characters.",
                                           msgs[0].content, assistant_channel_names[ch], cfg->max_length[ch]);
        req.messages = msgs;
        req.nmessages = nm;
    }
    struct assistant_extract_config xc = {.min_score = 0, .min_coverage = 0.5, .max_passages = 1};
    struct assistant_answer_config ac = {
        .llm = use_llm ? &lc : NULL,
        .breaker = in->breaker,
        .breaker_key = use_llm ? arena_printf(found.arena, "%s %s", cfg->base_url, model ? model : "") : NULL,
        .extract = &xc,
    };
    err_clear(&le);
    if (assistant_answer(&ac, use_llm ? &req : NULL, text, found.p, found.n, &ans, &le) != 0) {
        out->action = ASSISTANT_HANDOVER;
        buf_puts(&out->text, cfg->unknown_answer);
        snprintf(out->reason, sizeof out->reason, "not answered: %.200s", le.msg);
        goto out;
    }
    out->latency_ms = ans.latency_ms;
    if (use_llm && strncmp(ans.fallback_reason, "circuit_open", 12) != 0) {
        buf_reset(&tmp);
        assistant_llm_body(&lc, &req, &tmp);
        buf_puts(&tmp, "");
        assistant_redact(tmp.data, &out->prompt_log);
    }
    int llm_fell_back = use_llm && strcmp(ans.provider, "llm") != 0;

    if (strcmp(ans.provider, "llm") == 0) {
        snprintf(out->provider, sizeof out->provider, "llm");
        snprintf(out->model, sizeof out->model, "%s", ans.model);
        out->prompt_tokens = ans.prompt_tokens;
        out->completion_tokens = ans.completion_tokens;
        assistant_redact(ans.text.data ? ans.text.data : "", &out->response_log);
        out->ncited = assistant_citations(ans.text.data, found.p, found.n, out->cited, ASSISTANT_EXTRACT_USED_MAX,
                                          &clean);
        if (says_unknown(clean.data)) {
            if (small) {
                small_talk_reply(small, language, cfg->name, &out->text);
            } else {
                out->action = ASSISTANT_HANDOVER;
                buf_puts(&out->text, cfg->unknown_answer);
                snprintf(out->reason, sizeof out->reason, "not answered: the model found no answer (UNKNOWN)");
                goto out;
            }
        } else {
            buf_append(&out->text, clean.data, clean.len);
        }
        if (out->ncited == 0 && !small) {
            out->action = ASSISTANT_DRAFT;
            snprintf(out->reason, sizeof out->reason, "ungrounded: %s",
                     strstr(ans.text.data, "[#") ? "it cites no passage that was given" : "no passage cited");
            alternatives(out, text, found.p, found.n, 0);
            goto out;
        }
    } else if (strcmp(ans.provider, "extractive") == 0 && !small) {
        snprintf(out->provider, sizeof out->provider, "extractive");
        buf_append(&out->text, ans.text.data, ans.text.len);
        for (int i = 0; i < ans.nused && i < ASSISTANT_EXTRACT_USED_MAX; i++)
            out->cited[out->ncited++] = ans.used[i];
    } else if (small) {
        small_talk_reply(small, language, cfg->name, &out->text);
    } else {
        /* Without an LLM, "no LLM is configured; " says nothing. */
        const char *why = ans.fallback_reason;
        if (!use_llm && strncmp(why, "no LLM is configured; ", 22) == 0)
            why += 22;
        out->action = ASSISTANT_HANDOVER;
        buf_puts(&out->text, cfg->unknown_answer);
        if (ci && ci->action && (strcmp(ci->action, "collect") == 0 || strcmp(ci->action, "book") == 0))
            snprintf(out->reason, sizeof out->reason, "action %s needs a person; not answered: %.180s", ci->action,
                     why);
        else
            snprintf(out->reason, sizeof out->reason, "not answered: %.220s", why);
        goto out;
    }

    /* 7. Confidence: the intent's, scaled by how much of the question the
     *    best cited passage holds (its share c of the question's content
     *    terms): conf = intent * (0.5 + 0.5 c). A passage holding the whole
     *    question keeps the intent's confidence; one holding none halves it.
     *    Retrieval scores are not used: they do not compare across backends. */
    double cov = small ? 1 : 0;
    for (int i = 0; i < found.n; i++)
        if (cited(out, found.p[i].chunk_id)) {
            double c = coverage(text, &found.p[i]);
            if (c > cov)
                cov = c;
        }
    out->confidence = intent_conf * (0.5 + 0.5 * cov);

    alternatives(out, text, found.p, found.n, strcmp(out->provider, "extractive") == 0);

    /* 8. What would be said, checked before anyone sees it as ours. */
    struct assistant_output_rules rules = {
        .cfg = cfg, .channel = in->channel, .own = in->own, .nown = in->nown, .passages = found.p,
        .npassages = found.n,
    };
    buf_puts(&out->text, "");
    assistant_safety_output(out->text.data, &rules, &v);
    if (!v.ok) {
        out->action = ASSISTANT_DRAFT;
        snprintf(out->reason, sizeof out->reason, "unsafe: %.32s: %.190s", v.code, v.reason);
        goto fallback_note;
    }

    /* 9. The intent's action, then the mode. */
    const char *action = ci && ci->action ? ci->action : "answer";
    if (strcmp(action, "collect") == 0 || strcmp(action, "book") == 0) {
        out->action = ASSISTANT_DRAFT;
        snprintf(out->reason, sizeof out->reason, "action %s needs a person", action);
        goto fallback_note;
    }
    switch (assistant_config_mode(cfg, out->intent)) {
    case ASSISTANT_MODE_AUTO:
        out->action = ASSISTANT_SEND;
        break;
    case ASSISTANT_MODE_THRESHOLD:
        if (out->confidence >= cfg->auto_threshold) {
            out->action = ASSISTANT_SEND;
        } else {
            out->action = ASSISTANT_DRAFT;
            snprintf(out->reason, sizeof out->reason, "confidence %.2f under the threshold %.2f", out->confidence,
                     cfg->auto_threshold);
        }
        break;
    default:
        out->action = ASSISTANT_DRAFT;
        snprintf(out->reason, sizeof out->reason, "draft mode");
        break;
    }
fallback_note:
    if (llm_fell_back && !small) {
        char note[240];
        snprintf(note, sizeof note, "llm fallback: %.200s", ans.fallback_reason);
        add_reason(out, note);
    }
out:
    buf_puts(&out->text, "");
    buf_puts(&out->alternatives, "");
    if (!out->latency_ms)
        out->latency_ms = (time_mono_ns() - t0) / 1000000;
    assistant_answer_free(&ans);
    assistant_intents_free(own_intents);
    arena_free(found.arena);
    buf_free(&tmp);
    buf_free(&clean);
    return rc;
}
