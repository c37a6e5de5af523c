// The shared conformance vectors (tests/vectors/README.md), run through the Kotlin binding.

package energy.nox.authenticator.test

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import energy.nox.authenticator.core.AssetType
import energy.nox.authenticator.Authenticator
import energy.nox.authenticator.Catalog
import energy.nox.authenticator.HttpHeader
import energy.nox.authenticator.HttpRequest
import energy.nox.authenticator.core.Language
import energy.nox.authenticator.core.NoxException
import energy.nox.authenticator.RedirectException
import energy.nox.authenticator.RedirectPolicy
import energy.nox.authenticator.core.RedirectRejection
import energy.nox.authenticator.WebhookEvent
import energy.nox.authenticator.core.WebhookEventType
import energy.nox.authenticator.WebhookException
import energy.nox.authenticator.languageFromLocale
import energy.nox.authenticator.negotiateLanguage
import energy.nox.authenticator.parseLanguage
import energy.nox.authenticator.signWebhook
import energy.nox.authenticator.v1Brands
import energy.nox.authenticator.verifyWebhook
import java.io.File

class Vectors(private val dir: File, private val harness: Harness) {
    private val configJson: String by lazy { File(dir, "config.json").readText() }

    fun runAll() {
        for (file in listOf("http", "catalog", "language", "redirect", "webhooks")) {
            val path = File(dir, "$file.json")
            if (!path.exists()) {
                // A vector file that is not there is a failure, not a silent pass.
                harness.case("$file.json") { throw CheckFailed("missing vector file $path") }
                continue
            }
            val root = JsonParser.parseString(path.readText()).asJsonObject
            when (file) {
                "http" -> http(root)
                "catalog" -> catalog(root)
                "language" -> language(root)
                "redirect" -> redirect(root)
                "webhooks" -> webhooks(root)
            }
        }
    }

    // ---- http.json ----------------------------------------------------------------------

    private fun http(root: JsonObject) {
        for (case in root.getAsJsonArray("cases")) {
            val c = case.asJsonObject
            harness.case("http: ${c.str("name")}") { httpCase(c) }
        }
    }

    private fun httpCase(case: JsonObject) {
        val auth = Authenticator(configJson)
        val vars = mutableMapOf<String, String>()
        case.getAsJsonArray("steps").forEachIndexed { index, stepElement ->
            // The action is substituted now; `expect` only after this step's captures.
            val raw = stepElement.asJsonObject
            val step = JsonObject()
            for ((key, value) in raw.entrySet()) step.add(key, if (key == "expect") value else substitute(value, vars))
            val now = step.get("now").asLong
            val expect = step.getAsJsonObject("expect")
            val where = "step $index"
            when {
                step.has("http") -> httpStep(auth, step, now, expect, vars, where)
                step.has("complete") -> sessionStep(where, substitute(expect, vars).asJsonObject, now) {
                    auth.completeSession(step.str("complete"), now)
                }
                step.has("session") -> sessionStep(where, substitute(expect, vars).asJsonObject, now) {
                    auth.session(step.str("session"))
                }
                else -> throw CheckFailed("$where: no action")
            }
        }
    }

    private fun httpStep(
        auth: Authenticator,
        step: JsonObject,
        now: Long,
        expect: JsonObject,
        vars: MutableMap<String, String>,
        where: String,
    ) {
        val http = step.getAsJsonObject("http")
        val headers = http.getAsJsonArray("headers")?.map {
            val pair = it.asJsonArray
            HttpHeader(pair[0].asString, pair[1].asString)
        } ?: emptyList()
        val body: ByteArray = when {
            http.has("json") -> http.get("json").toString().toByteArray(Charsets.UTF_8)
            http.has("text") -> http.str("text").toByteArray(Charsets.UTF_8)
            http.has("hex") -> hexBytes(http.str("hex"))
            else -> ByteArray(0)
        }
        val response = auth.handleHttp(
            HttpRequest(method = http.str("method"), path = http.str("path"), headers = headers, body = body),
            now,
        )
        val text = response.body.toString(Charsets.UTF_8)
        checkEq(response.status, expect.get("status").asInt, "$where status (body $text)")
        // The refusal behind a 400 (spec decision 17), for the library's callers only.
        for ((key, got) in listOf("rule" to response.rule, "field" to response.field, "did_you_mean" to response.didYouMean)) {
            if (expect.has(key)) {
                val wanted = expect.get(key).let { if (it.isJsonNull) null else it.asString }
                checkEq(got, wanted, "$where $key")
            }
        }
        checkHttpExpect(response, text, step, expect, vars, where)
    }

    private fun checkHttpExpect(
        response: energy.nox.authenticator.HttpResponse,
        text: String,
        step: JsonObject,
        expect: JsonObject,
        vars: MutableMap<String, String>,
        where: String,
    ) {
        val parsed: JsonElement? = if (step.has("capture") || expect.has("body")) {
            try {
                JsonParser.parseString(text)
            } catch (e: Exception) {
                throw CheckFailed("$where: response body is not JSON: $text")
            }
        } else null
        step.getAsJsonArray("capture")?.forEach { captureElement ->
            val capture = captureElement.asJsonObject
            val value = pointer(parsed!!, capture.str("pointer"))
            check(value != null && value.isJsonPrimitive && value.asJsonPrimitive.isString) {
                "$where capture ${capture.str("name")}: no string at ${capture.str("pointer")} in $text"
            }
            val captured = value!!.asString
            val kind = capture.str("kind")
            val pattern = when (kind) {
                "token" -> TOKEN
                "uuid" -> UUID
                else -> throw CheckFailed("$where: unknown capture kind $kind")
            }
            check(pattern.matches(captured)) { "$where capture ${capture.str("name")}: <$captured> is not a $kind" }
            vars[capture.str("name")] = captured
        }
        substitute(expect, vars).asJsonObject.getAsJsonObject("headers")?.entrySet()?.forEach { (name, value) ->
            val got = response.headers.firstOrNull { it.name.equals(name, ignoreCase = true) }?.value
            checkEq(got, value.asString, "$where header $name")
        }
        if (expect.has("body")) {
            val expected = substitute(expect.get("body"), vars)
            check(jsonEquals(parsed!!, expected)) { "$where body: expected $expected, got $text" }
        }
    }

    private fun sessionStep(where: String, expect: JsonObject, now: Long, action: () -> energy.nox.authenticator.LinkSession) {
        if (expect.has("error")) {
            val error = expect.getAsJsonObject("error")
            val e = expectThrows<NoxException>(where) { action() }
            checkEq(e.code(), error.str("code"), "$where error code")
            checkEq(e.status().toInt(), error.get("status").asInt, "$where error status")
        } else {
            val session = action()
            checkEq(session.state(now).code(), expect.str("state"), "$where state")
            val completedAt = expect.get("completed_at")
            val expected = if (completedAt == null || completedAt.isJsonNull) null else completedAt.asLong
            checkEq(session.completedAt(), expected, "$where completed_at")
        }
    }

    // ---- catalog.json -------------------------------------------------------------------

    private fun catalog(root: JsonObject) {
        val builtin = Catalog.builtin()
        harness.case("catalog: version") { checkEq(builtin.version(), root.str("version"), "version") }
        for ((code, slugs) in root.getAsJsonObject("brands").entrySet()) {
            harness.case("catalog: brands $code") {
                checkEq(builtin.brands(assetType(code)).map { it.slug }, slugs.asJsonArray.map { it.asString }, "$code slugs")
            }
        }
        root.getAsJsonObject("display_names")?.entrySet()?.forEach { (slug, name) ->
            harness.case("catalog: display name $slug") {
                checkEq(builtin.find(slug)?.displayName, name.asString, "display name of $slug")
            }
        }
        root.getAsJsonArray("resolve")?.forEach { element ->
            val c = element.asJsonObject
            harness.case("catalog resolve: ${c.str("name")}") {
                resolveCase(c) { builtin.resolve(assetType(c.str("asset_type")), c.str("spelling")).slug }
            }
        }
        root.getAsJsonArray("resolve_v1")?.forEach { element ->
            val c = element.asJsonObject
            harness.case("catalog resolve_v1: ${c.str("name")}") {
                resolveCase(c) { builtin.resolveV1(c.str("spelling")) }
            }
        }
        root.getAsJsonArray("load")?.forEach { element ->
            val c = element.asJsonObject
            harness.case("catalog load: ${c.str("name")}") {
                if (c.has("error_field")) {
                    val e = expectThrows<NoxException.InvalidCatalog>("load") { Catalog.fromJson(c.str("json")) }
                    checkEq(e.field, c.str("error_field"), "error field")
                    checkEq(e.code(), "invalid_catalog", "code")
                } else {
                    val loaded = Catalog.fromJson(c.str("json"))
                    checkEq(loaded.version(), c.str("version"), "version")
                    for ((code, slugs) in c.getAsJsonObject("brands").entrySet()) {
                        checkEq(loaded.brands(assetType(code)).map { it.slug }, slugs.asJsonArray.map { it.asString }, "$code slugs")
                    }
                }
            }
        }
        harness.case("catalog: v1 brands are heat-pump brands of the builtin catalog") {
            for (slug in v1Brands()) checkEq(builtin.resolveV1(slug), slug, "v1 $slug")
        }
    }

    private fun resolveCase(c: JsonObject, resolve: () -> String) {
        if (c.has("error")) {
            val e = expectThrows<NoxException.Validation>("resolve") { resolve() }
            checkEq(e.v1.message, c.str("error"), "message")
            checkEq(e.toString(), c.str("error"), "toString")
            checkEq(e.v1.fields, listOf("brand"), "fields")
            checkEq(e.status().toInt(), 400, "status")
            checkEq(e.code(), "validation_error", "code")
        } else {
            checkEq(resolve(), c.str("slug"), "slug")
        }
    }

    // ---- language.json ------------------------------------------------------------------

    private fun language(root: JsonObject) {
        root.getAsJsonArray("parse")?.forEach { element ->
            val c = element.asJsonObject
            harness.case("language parse: ${c.str("code")}") {
                checkEq(parseLanguage(c.str("code"))?.code(), c.strOrNull("expected"), "parse")
            }
        }
        root.getAsJsonArray("negotiate")?.forEach { element ->
            val c = element.asJsonObject
            harness.case("language negotiate: ${c.str("accept_language")} (default ${c.str("default")})") {
                val default = parseLanguage(c.str("default")) ?: throw CheckFailed("bad default")
                checkEq(negotiateLanguage(c.str("accept_language"), default).code(), c.str("expected"), "negotiate")
            }
        }
        root.getAsJsonArray("locale")?.forEach { element ->
            val c = element.asJsonObject
            harness.case("language locale: ${c.str("locale")}") {
                checkEq(languageFromLocale(c.str("locale"))?.code(), c.strOrNull("expected"), "locale")
            }
        }
        harness.case("language: every code round-trips") {
            for (language in Language.values()) checkEq(parseLanguage(language.code()), language, "parse")
        }
    }

    // ---- redirect.json ------------------------------------------------------------------

    private fun redirect(root: JsonObject) {
        val registered = root.getAsJsonArray("registered").map { it.asString }
        val policy = RedirectPolicy(registered)
        root.getAsJsonArray("check")?.forEach { element ->
            val c = element.asJsonObject
            harness.case("redirect check: ${c.str("name")}") {
                if (c.get("ok").asBoolean) {
                    policy.check(c.str("url"))
                } else {
                    val e = expectThrows<RedirectException.Refused>("check") { policy.check(c.str("url")) }
                    checkEq(e.rejection.code(), c.str("reason"), "reason")
                    checkEq(e.code(), c.str("reason"), "code")
                }
            }
        }
        root.getAsJsonArray("register")?.forEach { element ->
            val c = element.asJsonObject
            harness.case("redirect register: ${c.str("name")}") {
                if (c.get("ok").asBoolean) {
                    checkEq(RedirectPolicy(listOf(c.str("url"))).urls(), listOf(c.str("url")), "urls")
                } else {
                    val e = expectThrows<RedirectException.RegistrationRefused>("register") {
                        RedirectPolicy(listOf("https://first.example/ok", c.str("url")))
                    }
                    checkEq(e.index.toInt(), 1, "index")
                    checkEq(e.rejection.code(), c.str("reason"), "reason")
                    if (c.has("canonical")) {
                        val rejection = e.rejection
                        check(rejection is RedirectRejection.NotCanonical) { "expected NotCanonical, got $rejection" }
                        checkEq((rejection as RedirectRejection.NotCanonical).canonical, c.str("canonical"), "canonical")
                    }
                }
            }
        }
        root.get("none_registered")?.let { value ->
            val urls = if (value.isJsonArray) value.asJsonArray.map { it.asString } else listOf(value.asString)
            for (url in urls) {
                harness.case("redirect none_registered: $url") {
                    val e = expectThrows<RedirectException.Refused>("check") { RedirectPolicy(emptyList()).check(url) }
                    checkEq(e.rejection, RedirectRejection.NoneRegistered, "rejection")
                }
            }
        }
    }

    // ---- webhooks.json (signatures computed by the PyPI standardwebhooks package) ---------

    private fun webhooks(root: JsonObject) {
        for (element in root.getAsJsonArray("sign")) {
            val c = element.asJsonObject
            harness.case("webhook sign: ${c.str("name")}") {
                val signature = signWebhook(c.str("secret"), c.str("id"), c.get("timestamp").asLong, c.str("body").toByteArray())
                checkEq(signature, c.str("signature"), "signature")
            }
        }
        for (element in root.getAsJsonArray("verify")) {
            val c = element.asJsonObject
            harness.case("webhook verify: ${c.str("name")}") {
                val secrets = c.getAsJsonArray("secrets").map { it.asString }
                val headers = c.getAsJsonArray("headers").map { HttpHeader(it.asJsonArray[0].asString, it.asJsonArray[1].asString) }
                val body = c.str("body").toByteArray()
                val now = c.get("now").asLong
                val expect = c.getAsJsonObject("expect")
                if (expect.has("event")) {
                    val event = verifyWebhook(secrets, headers, body, now)
                    val got = eventJson(event)
                    check(jsonEquals(got, expect.get("event"))) { "event: expected ${expect.get("event")}, got $got" }
                } else {
                    val error = expect.getAsJsonObject("error")
                    val e = expectThrows<WebhookException>("verify") { verifyWebhook(secrets, headers, body, now) }
                    checkEq(e.code(), error.str("code"), "code")
                    checkEq(e.field(), error.strOrNull("field"), "field")
                    checkEq(e.status().toInt(), if (error.str("code") == "invalid_secret") 500 else 400, "status")
                    val expectedClass = when (error.str("code")) {
                        "missing_header" -> WebhookException.MissingHeader::class
                        "invalid_timestamp" -> WebhookException.InvalidTimestamp::class
                        "timestamp_too_old" -> WebhookException.TimestampTooOld::class
                        "timestamp_too_new" -> WebhookException.TimestampTooNew::class
                        "no_valid_signature" -> WebhookException.NoValidSignature::class
                        "invalid_secret" -> WebhookException.InvalidSecret::class
                        else -> WebhookException.InvalidBody::class
                    }
                    checkEq(e::class, expectedClass, "exception class")
                }
            }
        }
        for (element in root.getAsJsonArray("secrets")) {
            val c = element.asJsonObject
            harness.case("webhook secret: ${c.str("name")}") {
                if (c.get("ok").asBoolean) {
                    check(signWebhook(c.str("secret"), "msg", 0, ByteArray(0)).startsWith("v1,")) { "signature" }
                } else {
                    val e = expectThrows<WebhookException.InvalidSecret>("parse") { signWebhook(c.str("secret"), "msg", 0, ByteArray(0)) }
                    checkEq(e.code(), c.str("code"), "code")
                }
            }
        }
    }

    /** A verified event in the vectors' `expect.event` form. */
    private fun eventJson(event: WebhookEvent): JsonObject = JsonObject().apply {
        addProperty("id", event.id)
        addProperty("signed_at", event.signedAt)
        addProperty("type", event.eventType.code())
        addProperty("timestamp", event.timestamp)
        addProperty("kind", event.kind.name.lowercase())
        addProperty("state", event.state.code())
        addProperty("token", event.token)
        addProperty("user_id", event.userId)
        addProperty("link_url", event.linkUrl)
        addProperty("expires_at", event.expiresAt)
        add("completed_at", event.completedAt?.let { JsonPrimitive(it) } ?: JsonNull.INSTANCE)
        add("session", JsonParser.parseString(event.sessionJson))
    }

    // ---- helpers ------------------------------------------------------------------------

    private fun assetType(code: String): AssetType =
        AssetType.values().firstOrNull { it.code() == code } ?: throw CheckFailed("unknown asset type $code")

    companion object {
        val TOKEN = Regex("^[A-Za-z0-9_-]{43}$")
        val UUID = Regex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        private val VAR = Regex("""\$\{([A-Za-z0-9_]+)}""")

        /** Replaces `${var}` in every string of a JSON value (keys included). */
        fun substitute(element: JsonElement, vars: Map<String, String>): JsonElement = when {
            element.isJsonPrimitive && element.asJsonPrimitive.isString -> JsonPrimitive(
                VAR.replace(element.asString) { m ->
                    vars[m.groupValues[1]] ?: throw CheckFailed("unbound variable ${m.value}")
                },
            )
            element.isJsonArray -> JsonArray().also { out -> element.asJsonArray.forEach { out.add(substitute(it, vars)) } }
            element.isJsonObject -> JsonObject().also { out ->
                element.asJsonObject.entrySet().forEach { (k, v) -> out.add(k, substitute(v, vars)) }
            }
            else -> element
        }

        /** RFC 6901 JSON pointer; null when nothing is there. */
        fun pointer(root: JsonElement, pointer: String): JsonElement? {
            if (pointer.isEmpty()) return root
            if (!pointer.startsWith("/")) throw CheckFailed("bad pointer $pointer")
            var current: JsonElement = root
            for (raw in pointer.substring(1).split("/")) {
                val token = raw.replace("~1", "/").replace("~0", "~")
                current = when {
                    current.isJsonObject -> current.asJsonObject.get(token) ?: return null
                    current.isJsonArray -> current.asJsonArray.let { array ->
                        val i = token.toIntOrNull() ?: return null
                        if (i in 0 until array.size()) array[i] else return null
                    }
                    else -> return null
                }
            }
            return current
        }

        /** Deep JSON equality: key order ignored, numbers compared by value. */
        fun jsonEquals(a: JsonElement, b: JsonElement): Boolean = when {
            a.isJsonNull || b.isJsonNull -> a.isJsonNull && b.isJsonNull
            a.isJsonObject && b.isJsonObject -> {
                val x = a.asJsonObject
                val y = b.asJsonObject
                x.keySet() == y.keySet() && x.keySet().all { jsonEquals(x.get(it), y.get(it)) }
            }
            a.isJsonArray && b.isJsonArray -> {
                val x = a.asJsonArray
                val y = b.asJsonArray
                x.size() == y.size() && (0 until x.size()).all { jsonEquals(x[it], y[it]) }
            }
            a.isJsonPrimitive && b.isJsonPrimitive -> {
                val x = a.asJsonPrimitive
                val y = b.asJsonPrimitive
                when {
                    x.isNumber && y.isNumber -> x.asBigDecimal.compareTo(y.asBigDecimal) == 0
                    x.isString && y.isString -> x.asString == y.asString
                    x.isBoolean && y.isBoolean -> x.asBoolean == y.asBoolean
                    else -> false
                }
            }
            else -> false
        }

        fun hexBytes(hex: String): ByteArray {
            val clean = hex.filterNot { it.isWhitespace() }
            check(clean.length % 2 == 0) { "odd hex length" }
            return ByteArray(clean.length / 2) { clean.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
        }
    }
}

private fun JsonObject.str(name: String): String =
    get(name)?.takeUnless { it is JsonNull }?.asString ?: throw CheckFailed("vector has no string \"$name\"")

private fun JsonObject.strOrNull(name: String): String? =
    get(name)?.takeUnless { it.isJsonNull }?.asString
