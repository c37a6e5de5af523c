// The binding's own API from Kotlin: what an app calls, and every error type it can see.

package energy.nox.authenticator.test

import energy.nox.authenticator.core.AssetType
import energy.nox.authenticator.Authenticator
import energy.nox.authenticator.Catalog
import energy.nox.authenticator.HttpHeader
import energy.nox.authenticator.HttpRequest
import energy.nox.authenticator.core.Language
import energy.nox.authenticator.core.ManufacturerLinkSessionInput
import energy.nox.authenticator.core.NoxException
import energy.nox.authenticator.core.Rule
import energy.nox.authenticator.RedirectException
import energy.nox.authenticator.RedirectPolicy
import energy.nox.authenticator.core.RedirectRejection
import energy.nox.authenticator.core.SessionKind
import energy.nox.authenticator.core.SessionState
import energy.nox.authenticator.core.SupplierLinkSessionInput
import energy.nox.authenticator.core.V1ConnectInput
import energy.nox.authenticator.core.V1SupplierLinkInput
import energy.nox.authenticator.core.CallbackStatus
import energy.nox.authenticator.core.LinkCallback
import energy.nox.authenticator.core.PickField
import energy.nox.authenticator.core.Progress
import energy.nox.authenticator.core.Step
import energy.nox.authenticator.LinkCallbackException
import energy.nox.authenticator.WebhookException
import energy.nox.authenticator.parseLinkCallback
import energy.nox.authenticator.signWebhook
import energy.nox.authenticator.allAssetTypes
import energy.nox.authenticator.allLanguages
import energy.nox.authenticator.checkRedirectShape
import energy.nox.authenticator.languageFromLocale
import energy.nox.authenticator.linkSessionTtlSeconds
import energy.nox.authenticator.maxRedirectUrlLen
import energy.nox.authenticator.negotiateLanguage
import energy.nox.authenticator.normalizeSpelling
import energy.nox.authenticator.parseAssetType
import energy.nox.authenticator.parseLinkUrl
import energy.nox.authenticator.requireLanguage
import energy.nox.authenticator.sessionStateAt
import energy.nox.authenticator.systemNow
import energy.nox.authenticator.v1DefaultLanguage
import energy.nox.authenticator.v2DefaultLanguage
import energy.nox.authenticator.validateManufacturerLinkSession
import energy.nox.authenticator.validateSupplierLinkSession
import energy.nox.authenticator.validateV1Connect
import energy.nox.authenticator.validateV1SupplierLink

private const val NOW = 1_703_123_456L
private const val SUPPLIER_KEY = "supplier-key-acme"
private const val MANUFACTURER_KEY = "manufacturer-key-acme"
private const val CALLBACK = "https://your-app.com/callback"

class ApiTests(private val configJson: String, private val harness: Harness) {
    private fun auth(seed: ULong? = null) = Authenticator(configJson, seed)

    private fun supplierInput(
        userId: String? = "user-1",
        redirectUrl: String? = CALLBACK,
        assetType: String? = "hp",
        brand: String? = null,
        language: String? = null,
    ) = SupplierLinkSessionInput(userId, redirectUrl, assetType, brand, language)

    fun runAll() {
        brandsAndLanguages()
        validation()
        redirects()
        sessions()
        everyErrorType()
        http()
        rulesAndNow()
        messagesAndStrings()
        hostedFlow()
    }

    /** Decision 17: `message` is the message of every exception; a lone surrogate is a NoxException. */
    private fun messagesAndStrings() {
        harness.case("every exception's message is its message, fieldless ones included") {
            val a = auth()
            val missing = expectThrows<NoxException.MissingApiKey>("no key") { a.createSupplierLinkSession(null, supplierInput(), NOW) }
            checkEq(missing.message, "Missing API key", "MissingApiKey.message")
            val invalid = expectThrows<NoxException.InvalidApiKey>("bad key") { a.createSupplierLinkSession("nope", supplierInput(), NOW) }
            checkEq(invalid.message, "Invalid API key", "InvalidApiKey.message")
            val notFound = expectThrows<NoxException.SessionNotFound>("no session") { a.session("nope") }
            checkEq(notFound.message, "Link session not found", "SessionNotFound.message")
            val disabled = expectThrows<NoxException.ManufacturerNotEnabled>("disabled") {
                a.createManufacturerLinkSession("manufacturer-key-disabled", ManufacturerLinkSessionInput("u", CALLBACK), NOW)
            }
            checkEq(disabled.message, "Manufacturer not enabled", "ManufacturerNotEnabled.message")
            val session = a.createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), NOW)
            val expired = expectThrows<NoxException.SessionExpired>("expired") { a.completeSession(session.token(), NOW + 600) }
            checkEq(expired.message, "Link session expired at ${NOW + 600}", "SessionExpired.message")
            val validation = expectThrows<NoxException.Validation>("validation") { validateSupplierLinkSession(SupplierLinkSessionInput(), null) }
            checkEq(validation.message, "Missing required fields: user_id, redirect_url, asset_type", "Validation.message")
            checkEq(validation.message, validation.v1.message, "message is the refusal's message")
            val config = expectThrows<NoxException.InvalidConfig>("config") { Authenticator("{", null) }
            checkEq(config.message, config.toString(), "InvalidConfig.message")
            check(config.message!!.startsWith("invalid configuration: ")) { "${config.message}" }
            val now = expectThrows<NoxException.InvalidArgument>("now") { a.completeSession(session.token(), -1L) }
            checkEq(now.message, "now must be a whole number of seconds from 0 to 253402300799, got -1", "InvalidArgument.message")
            checkEq(now.argument, "now", "InvalidArgument.argument")
            val redirect = expectThrows<RedirectException.Refused>("redirect") { checkRedirectShape("") }
            checkEq(redirect.message, redirect.toString(), "RedirectException.message")
            check(redirect.message!!.isNotEmpty()) { "redirect message" }
            val webhook = expectThrows<WebhookException>("webhook") { signWebhook("nope", "id", NOW, ByteArray(0)) }
            check(webhook.message!!.startsWith("Invalid webhook secret")) { "${webhook.message}" }
        }
        harness.case("a lone surrogate in any string argument is NoxException.InvalidArgument") {
            val lone = "user-\uD800"
            val cases = listOf<Pair<String, () -> Unit>>(
                "record field" to { auth().createSupplierLinkSession(SUPPLIER_KEY, supplierInput(userId = lone), NOW) },
                "api key" to { auth().createSupplierLinkSession(lone, supplierInput(), NOW) },
                "token" to { auth().session(lone) },
                "free function" to { parseLinkCallback("https://your-app.com/callback?x=\uDC00") },
                "catalog" to { Catalog.builtin().resolve(AssetType.HEAT_PUMP, lone) },
                "validation" to { validateV1Connect(V1ConnectInput("m", listOf("d", lone))) },
            )
            for ((what, call) in cases) {
                val e = expectThrows<NoxException.InvalidArgument>(what) { call() }
                checkEq(e.argument, "string", "$what argument")
                checkEq(e.code(), "invalid_argument", "$what code")
                checkEq(e.status(), 400, "$what status")
                check(e.message!!.contains("lone surrogate")) { "$what message: ${e.message}" }
            }
            // A well-formed pair (an emoji) is a string like any other.
            checkEq(validateSupplierLinkSession(supplierInput(userId = "user-\uD83D\uDE00")).userId, "user-\uD83D\uDE00", "emoji")
        }
    }

    /** Issue 16 point 1: the return URL an app receives, and the page view model. */
    private fun hostedFlow() {
        harness.case("flow: parseLinkCallback reads status and token") {
            val a = auth(7UL)
            val session = a.createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), NOW)
            for (status in CallbackStatus.values()) {
                val callback = parseLinkCallback("$CALLBACK?keep=1&status=${status.code()}&link_token=${session.token()}")
                checkEq(callback, LinkCallback(status, session.token()), "callback ${status.code()}")
            }
            val custom = parseLinkCallback("myapp://linked?status=denied&link_token=${session.token()}")
            checkEq(custom.status, CallbackStatus.DENIED, "custom scheme")
        }
        harness.case("flow: every malformed return URL has its rule code, field and message") {
            val token = auth(7UL).createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), NOW).token()
            val cases = listOf(
                Triple("not a url", "not_a_url", null),
                Triple("$CALLBACK?link_token=$token", "missing_status", "status"),
                Triple("$CALLBACK?status=done&link_token=$token", "unknown_status", "status"),
                Triple("$CALLBACK?status=completed", "missing_token", "link_token"),
                Triple("$CALLBACK?status=completed&link_token=short", "invalid_token", "link_token"),
                Triple("$CALLBACK?status=completed&status=denied&link_token=$token", "duplicate_parameter", "status"),
                Triple("$CALLBACK?status=completed&link_token=$token&link_token=$token", "duplicate_parameter", "link_token"),
            )
            for ((url, code, field) in cases) {
                val e = expectThrows<LinkCallbackException.Refused>(code) { parseLinkCallback(url) }
                checkEq(e.code, code, "code of $url")
                checkEq(e.field, field, "field of $url")
                checkEq(e.message, e.reason, "message of $url")
                check(e.reason.isNotEmpty()) { "reason of $url" }
            }
            val e = expectThrows<LinkCallbackException.Refused>("message") { parseLinkCallback("$CALLBACK?status=completed") }
            checkEq(e.message, "the URL has no link_token parameter", "message text")
        }
        harness.case("flow: the page view model follows the session and the progress") {
            val a = auth(7UL)
            val session = a.createSupplierLinkSession(SUPPLIER_KEY, supplierInput(language = "fr"), NOW)
            val first = a.flowView(session.token(), Progress(), NOW)
            checkEq(first.step, Step.WHO_AND_WHAT, "first step")
            checkEq(first.language, Language.FR, "session language")
            checkEq(first.kind, SessionKind.V2_SUPPLIER, "kind")
            checkEq(first.assetType, AssetType.HEAT_PUMP, "asset type")
            checkEq(first.pickField, PickField.BRAND, "pick field")
            checkEq(first.expiresAt, NOW + 600, "expires at")
            checkEq(first.secondsLeft, 600L, "seconds left")
            val back = parseLinkCallback(first.returnUrl!!)
            checkEq(back, LinkCallback(CallbackStatus.DENIED, session.token()), "back goes to the return URL with denied")
            val pick = a.flowView(session.token(), Progress(started = true), NOW)
            checkEq(pick.step, Step.PICK, "pick step")
            checkEq(pick.choices.map { it.value }, Catalog.builtin().brands(AssetType.HEAT_PUMP).map { it.slug }, "choices are the hp brands")
            val english = a.flowView(session.token(), Progress(), NOW, Step.PICK, "EN")
            checkEq(english.language, Language.EN, "the link's language parameter wins")
            checkEq(english.step, Step.PICK, "the step asked for")
            checkEq(a.flowView(session.token(), Progress(), NOW + 600).step, Step.EXPIRED, "expired")
            a.completeSession(session.token(), NOW + 1)
            val done = a.flowView(session.token(), Progress(), NOW + 2)
            checkEq(done.step, Step.ALREADY_COMPLETED, "already completed")
            checkEq(parseLinkCallback(done.returnUrl!!).status, CallbackStatus.COMPLETED, "return with completed")
            expectThrows<NoxException.SessionNotFound>("unknown token") { a.flowView("nope", Progress(), NOW) }
            expectThrows<NoxException.InvalidArgument>("now") { a.flowView(session.token(), Progress(), -1L) }
        }
        harness.case("flow: a manufacturer session picks among the suppliers") {
            val a = auth(7UL)
            val session = a.createManufacturerLinkSession(MANUFACTURER_KEY, ManufacturerLinkSessionInput("u", "https://heat.acme.example/nox/done"), NOW)
            val view = a.flowView(session.token(), Progress(started = true), NOW)
            checkEq(view.step, Step.PICK, "pick")
            checkEq(view.pickField, PickField.SUPPLIER, "supplier field")
            check(view.choices.isNotEmpty() && view.choices.all { it.label.isNotBlank() }) { "${view.choices}" }
            checkEq(view.assetType, null, "no asset type")
        }
    }

    /** Spec decisions 16 to 18: rule codes, v1 language as any string, `now` in range. */
    private fun rulesAndNow() {
        harness.case("refusals carry rule, field and didYouMean") {
            val cases = listOf(
                Triple(supplierInput(userId = ""), "empty", "user_id"),
                Triple(supplierInput(brand = "sma"), "brand_wrong_asset_type", "brand"),
                Triple(supplierInput(brand = "vailant"), "brand_unknown", "brand"),
            )
            for ((input, rule, field) in cases) {
                val e = expectThrows<NoxException.Validation>(rule) { auth().createSupplierLinkSession(SUPPLIER_KEY, input, NOW) }
                checkEq(e.v1.rule.code(), rule, "rule")
                checkEq(e.v1.fields.firstOrNull(), field, "field")
                checkEq(e.status(), 400, "status is an Int")
            }
            val e = expectThrows<NoxException.Validation>("did you mean") {
                auth().createSupplierLinkSession(SUPPLIER_KEY, supplierInput(brand = "vailant"), NOW)
            }
            checkEq(e.v1.didYouMean, "vaillant", "didYouMean")
            checkEq(e.v1.rule, Rule.BRAND_UNKNOWN, "rule as an enum")
            // A branch on the case and the rule, as an app writes it.
            val hint = when (e) {
                is NoxException.Validation -> when (e.v1.rule) {
                    Rule.BRAND_UNKNOWN -> "did you mean ${e.v1.didYouMean}?"
                    else -> e.v1.message
                }
            }
            checkEq(hint, "did you mean vaillant?", "when on the rule")
        }
        harness.case("results have a useful toString() and hashCode() agrees with equals()") {
            val a = auth()
            val created = a.createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), NOW)
            val text = created.toString()
            check(text.contains("kind=v2_supplier") && text.contains("user_id=\"user-1\"")) { text }
            check(!text.contains(created.token())) { "the token stays out of toString()" }
            val again = a.session(created.token())
            checkEq(again, created, "equal")
            checkEq(again.hashCode(), created.hashCode(), "hashCode")
            checkEq(Catalog.builtin().hashCode(), Catalog.builtin().hashCode(), "catalog hashCode")
        }
        harness.case("v1 language is any string") {
            val v1 = auth().createV1SupplierLink(SUPPLIER_KEY, V1SupplierLinkInput(userId = "u", redirectUri = CALLBACK, language = "de"), NOW)
            checkEq(v1.language(), Language.EN, "de is the default en")
        }
        harness.case("now is whole seconds from 0 to 253402300799") {
            for (now in listOf(-1L, -5L, 253402300800L, Long.MAX_VALUE)) {
                val e = expectThrows<NoxException.InvalidArgument>("now $now") { auth().createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), now) }
                checkEq(e.code(), "invalid_argument", "code")
                expectThrows<NoxException.InvalidArgument>("http now $now") {
                    auth().handleHttp(HttpRequest("GET", "/", emptyList(), ByteArray(0)), now)
                }
            }
            checkEq(auth().createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), 0L).createdAt(), 0L, "0")
        }
    }

    private fun brandsAndLanguages() {
        harness.case("api: brand picker lists display names per asset type") {
            val catalog = Catalog.builtin()
            val hp = catalog.brands(AssetType.HEAT_PUMP)
            checkEq(hp.size, 25, "hp brands")
            checkEq(catalog.brands(AssetType.PV_INVERTER).size, 31, "pv brands")
            check(hp.all { it.assetType == AssetType.HEAT_PUMP && it.displayName.isNotBlank() }) { "hp brand records" }
            checkEq(catalog.resolve(AssetType.HEAT_PUMP, "Saunier_Duval").slug, "saunier-duval", "spelling")
            checkEq(catalog.allBrands().size, 56, "all brands")
            checkEq(Catalog.fromJson(catalog.toJson()), catalog, "JSON round trip")
        }
        harness.case("api: asset types and languages") {
            checkEq(allAssetTypes().map { it.code() }, listOf("hp", "pv"), "asset types")
            checkEq(parseAssetType("pv"), AssetType.PV_INVERTER, "parse pv")
            checkEq(allLanguages().map { it.code() }, listOf("nl", "en", "fr", "es"), "languages")
            checkEq(v2DefaultLanguage(), Language.NL, "v2 default")
            checkEq(v1DefaultLanguage(), Language.EN, "v1 default")
            checkEq(requireLanguage("FR"), Language.FR, "require")
            checkEq(languageFromLocale(java.util.Locale("nl", "BE").toLanguageTag()), Language.NL, "device locale")
            checkEq(negotiateLanguage("de-DE, fr;q=0.8", Language.NL), Language.FR, "negotiate")
            checkEq(normalizeSpelling("Alpha Innotec"), "alpha-innotec", "normalize")
        }
        harness.case("api: an authenticator uses a newer catalog once set") {
            val auth = auth()
            val newer = Catalog.fromJson(
                """{"version": "2099.1", "brands": [{"slug": "acme-heat", "display_name": "Acme Heat", "asset_type": "hp"}]}""",
            )
            auth.setCatalog(newer)
            checkEq(auth.catalog().version(), "2099.1", "version")
            val session = auth.createSupplierLinkSession(SUPPLIER_KEY, supplierInput(brand = "Acme Heat"), NOW)
            checkEq(session.brand(), "acme-heat", "brand")
        }
    }

    private fun validation() {
        harness.case("api: supplier input is canonicalised before any network call") {
            val request = validateSupplierLinkSession(supplierInput(brand = "alpha innotec", language = "FR"))
            checkEq(request.brand, "alpha-innotec", "brand")
            checkEq(request.language, Language.FR, "language")
            checkEq(request.assetType, AssetType.HEAT_PUMP, "asset type")
            checkEq(validateSupplierLinkSession(supplierInput(), Catalog.builtin()).language, Language.NL, "default language")
        }
        harness.case("api: missing supplier fields are reported at once, as the server does") {
            val e = expectThrows<NoxException.Validation>("validate") { validateSupplierLinkSession(SupplierLinkSessionInput(), null) }
            checkEq(e.v1.message, "Missing required fields: user_id, redirect_url, asset_type", "message")
            checkEq(e.v1.fields, listOf("user_id", "redirect_url", "asset_type"), "fields")
            checkEq(e.toString(), e.v1.message, "toString")
        }
        harness.case("api: manufacturer, v1 supplier and v1 connect inputs") {
            val m = expectThrows<NoxException.Validation>("manufacturer") {
                validateManufacturerLinkSession(ManufacturerLinkSessionInput(userId = "u"))
            }
            checkEq(m.message, "redirect_url is required", "manufacturer")
            checkEq(validateManufacturerLinkSession(ManufacturerLinkSessionInput("u", CALLBACK)).language, Language.NL, "manufacturer language")
            val v1 = validateV1SupplierLink(V1SupplierLinkInput(userId = "u", redirectUri = CALLBACK, brand = "Saunier Duval"))
            checkEq(v1.brand, "saunier-duval", "v1 brand")
            checkEq(v1.language, Language.EN, "v1 language")
            val bosch = expectThrows<NoxException.Validation>("v1 bosch") {
                validateV1SupplierLink(V1SupplierLinkInput(userId = "u", redirectUri = CALLBACK, brand = "bosch"))
            }
            checkEq(bosch.v1.fields, listOf("brand"), "v1 brand field")
            val connect = validateV1Connect(V1ConnectInput("mu-1", listOf("d1", "d2", "d1")))
            checkEq(connect.deviceIds, listOf("d1", "d2"), "device ids deduplicated")
            expectThrows<NoxException.Validation>("connect") { validateV1Connect(V1ConnectInput()) }
        }
        harness.case("api: hostile input gives errors, never a crash") {
            val huge = "x".repeat(1_000_000)
            expectThrows<NoxException.Validation>("huge brand") { Catalog.builtin().resolve(AssetType.HEAT_PUMP, huge) }
            expectThrows<NoxException.Validation>("huge link url") { parseLinkUrl(huge) }
            expectThrows<NoxException.Validation>("control chars") { validateSupplierLinkSession(supplierInput(userId = "a\u0000b")) }
            expectThrows<NoxException.InvalidConfig>("garbage config") { Authenticator("\u0000{[", null) }
            expectThrows<NoxException.InvalidCatalog>("garbage catalog") { Catalog.fromJson("[") }
            expectThrows<RedirectException.Refused>("emoji url") { checkRedirectShape("https://\uD83D\uDE00 x") }
        }
    }

    private fun redirects() {
        harness.case("api: redirect policy accepts exact matches only") {
            val policy = RedirectPolicy(listOf(CALLBACK, "http://127.0.0.1/cb"))
            policy.check(CALLBACK)
            policy.check("http://127.0.0.1:53682/cb")
            val e = expectThrows<RedirectException.Refused>("look-alike") { policy.check("https://YOUR-app.com/callback") }
            checkEq(e.rejection, RedirectRejection.NotRegistered, "rejection")
            checkEq(e.rejection.describe("redirect_url", "supplier"), "redirect_url is not registered with your supplier account", "describe")
            checkRedirectShape("https://anything.example/cb")
            checkEq(maxRedirectUrlLen(), 2048u, "max length")
        }
        harness.case("api: registering a non-canonical URL says which and how") {
            val e = expectThrows<RedirectException.RegistrationRefused>("register") {
                RedirectPolicy(listOf(CALLBACK, "https://EXAMPLE.com/cb"))
            }
            checkEq(e.index, 1u, "index")
            checkEq(e.rejection, RedirectRejection.NotCanonical("https://example.com/cb"), "rejection")
            checkEq(e.code(), "not_canonical", "code")
        }
    }

    private fun sessions() {
        harness.case("api: a supplier session, its link URL and its expiry") {
            val auth = auth()
            val session = auth.createSupplierLinkSession(SUPPLIER_KEY, supplierInput(brand = "alpha innotec", language = "fr"), NOW)
            checkEq(session.kind(), SessionKind.V2_SUPPLIER, "kind")
            checkEq(session.ownerName(), "Acme Energy", "owner")
            checkEq(session.brand(), "alpha-innotec", "brand")
            checkEq(session.expiresAt(), NOW + linkSessionTtlSeconds(), "expires at")
            val parts = parseLinkUrl(session.linkUrl())
            checkEq(parts.token, session.token(), "token from link url")
            checkEq(parts.language, Language.FR, "language from link url")
            checkEq(session.state(NOW + 599), SessionState.PENDING, "pending at 599 s")
            checkEq(session.state(NOW + 600), SessionState.EXPIRED, "expired at 600 s")
            check(session.isExpired(NOW + 600)) { "isExpired" }
            checkEq(session.secondsLeft(NOW + 100), 500L, "seconds left")
            val wire = com.google.gson.JsonParser.parseString(session.toWireJson()).asJsonObject
            checkEq(wire.get("link_token").asString, session.token(), "wire link_token")
            checkEq(auth.session(session.token()), session, "lookup equals")
            val done = auth.completeSession(session.token(), NOW + 10)
            checkEq(done.completedAt(), NOW + 10, "completed at")
            checkEq(done.state(NOW + 10_000), SessionState.COMPLETED, "completion wins over expiry")
            check(systemNow() > 1_704_067_200L) { "system clock" }
            checkEq(sessionStateAt(NOW + 600, null, NOW + 599), SessionState.PENDING, "state from data: pending")
            checkEq(sessionStateAt(NOW + 600, null, NOW + 600), SessionState.EXPIRED, "state from data: expired")
            checkEq(sessionStateAt(NOW + 600, NOW + 10, NOW + 9_999), SessionState.COMPLETED, "state from data: completed")
        }
        harness.case("api: manufacturer and v1 sessions, v1 connect") {
            val auth = auth()
            val m = auth.createManufacturerLinkSession(
                MANUFACTURER_KEY,
                ManufacturerLinkSessionInput("u1", "https://heat.acme.example/nox/done"),
                NOW,
            )
            checkEq(m.brand(), "Acme Heat-Pumps", "manufacturer brand title-cased")
            val v1 = auth.createV1SupplierLink(SUPPLIER_KEY, V1SupplierLinkInput("u1", CALLBACK, null, "daikin"), NOW)
            checkEq(parseLinkUrl(v1.linkUrl()).language, null, "v1 link url has no language")
            val first = auth.connectV1Manufacturer(MANUFACTURER_KEY, V1ConnectInput("mu-1", listOf("d1")))
            val again = auth.connectV1Manufacturer(MANUFACTURER_KEY, V1ConnectInput("mu-1", listOf("d2")))
            checkEq(again.noxUserId, first.noxUserId, "idempotent nox_user_id")
            checkEq(again.deviceIds, listOf("d1", "d2"), "merged device ids")
            checkEq(auth.sessionCount(), 2uL, "session count")
            checkEq(auth.evictExpired(NOW + 100_000), 2uL, "evicted")
        }
        harness.case("api: a test seed makes tokens reproducible") {
            val a = auth(42u).createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), NOW)
            val b = auth(42u).createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), NOW)
            val c = auth(43u).createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), NOW)
            checkEq(a.token(), b.token(), "same seed")
            check(a.token() != c.token()) { "different seeds give different tokens" }
            check(Vectors.TOKEN.matches(a.token())) { "token shape" }
        }
    }

    /** Every NoxException and RedirectException case an app can meet, with status and code. */
    private fun everyErrorType() {
        fun expectNox(name: String, status: Int, code: String, check: (NoxException) -> Unit = {}, body: () -> Unit) {
            harness.case("error: $name") {
                val e = expectThrows<NoxException>(name) { body() }
                checkEq(e::class.simpleName, name, "class")
                checkEq(e.status().toInt(), status, "status")
                checkEq(e.code(), code, "code")
                check(e.toString().isNotEmpty()) { "message" }
                check(e)
            }
        }
        expectNox("MissingApiKey", 401, "missing_api_key") {
            auth().createSupplierLinkSession(null, supplierInput(), NOW)
        }
        expectNox("InvalidApiKey", 401, "invalid_api_key", { checkEq(it.toString(), "Invalid API key", "text") }) {
            auth().createSupplierLinkSession("nope", supplierInput(), NOW)
        }
        expectNox("ManufacturerNotEnabled", 401, "manufacturer_not_enabled") {
            auth().createManufacturerLinkSession("manufacturer-key-disabled", ManufacturerLinkSessionInput("u", "https://sleepy.example/callback"), NOW)
        }
        expectNox("Validation", 400, "validation_error", {
            val v = it as NoxException.Validation
            checkEq(v.v1.fields, listOf("redirect_url"), "fields")
            checkEq(v.v1.message, "redirect_url is not registered with your supplier account", "message")
            checkEq(v.v1.rule, Rule.REDIRECT_NOT_REGISTERED, "rule")
        }) {
            auth().createSupplierLinkSession(SUPPLIER_KEY, supplierInput(redirectUrl = "https://evil.example/callback"), NOW)
        }
        expectNox("SessionNotFound", 404, "not_found") { auth().session("A".repeat(43)) }
        val auth = auth()
        val token = auth.createSupplierLinkSession(SUPPLIER_KEY, supplierInput(), NOW).token()
        expectNox("SessionExpired", 410, "expired", {
            checkEq((it as NoxException.SessionExpired).expiresAt, NOW + 600, "expiresAt")
        }) { auth.completeSession(token, NOW + 600) }
        auth.completeSession(token, NOW + 1)
        expectNox("SessionAlreadyCompleted", 409, "already_completed", {
            checkEq((it as NoxException.SessionAlreadyCompleted).completedAt, NOW + 1, "completedAt")
        }) { auth.completeSession(token, NOW + 2) }
        expectNox("SessionAlreadyCompleted", 409, "already_completed") {
            auth.session(token).checkCompletable(NOW + 3)
        }
        expectNox("InvalidConfig", 500, "invalid_config", {
            checkEq((it as NoxException.InvalidConfig).field, "suppliers[0].redirect_urls[0]", "field")
        }) {
            Authenticator("""{"suppliers": [{"id": "s", "name": "S", "api_key": "k", "redirect_urls": ["https://A.example/"]}]}""", null)
        }
        expectNox("InvalidCatalog", 500, "invalid_catalog", {
            checkEq((it as NoxException.InvalidCatalog).field, "version", "field")
        }) { Catalog.fromJson("""{"version": "", "brands": []}""") }
        expectNox("InvalidArgument", 400, "invalid_argument", {
            checkEq((it as NoxException.InvalidArgument).argument, "now", "argument")
            checkEq(it.publicMessage(), it.message, "publicMessage")
        }) { auth().evictExpired(-1L) }
        harness.case("error: NoxException equality and subclasses") {
            val a = expectThrows<NoxException>("a") { parseAssetType("ev") }
            val b = expectThrows<NoxException>("b") { parseAssetType("ev") }
            checkEq(a, b, "equal errors")
            check(a is NoxException.Validation && a.v1.fields == listOf("asset_type")) { "asset_type field" }
            checkEq(a.hashCode(), b.hashCode(), "hashCode agrees with equals")
            val other = expectThrows<NoxException>("c") { validateSupplierLinkSession(SupplierLinkSessionInput(), null) }
            check(a != other) { "different errors differ: $a / $other" }
            check(a != expectThrows<NoxException>("d") { auth().session("nope") }) { "different cases differ" }
        }
        harness.case("error: RedirectException cases") {
            val refused = expectThrows<RedirectException.Refused>("refused") { checkRedirectShape("javascript:alert(1)") }
            checkEq(refused.rejection, RedirectRejection.SchemeNotAllowed, "scheme")
            val none = expectThrows<RedirectException.Refused>("none") { RedirectPolicy(emptyList()).check(CALLBACK) }
            checkEq(none.code(), "none_registered", "none registered")
            val registration = expectThrows<RedirectException.RegistrationRefused>("registration") { RedirectPolicy(listOf("")) }
            checkEq(registration.rejection, RedirectRejection.Empty, "empty")
            checkEq(registration.index, 0u, "index")
        }
    }

    private fun http() {
        fun post(auth: Authenticator, path: String, body: String, vararg headers: Pair<String, String>) = auth.handleHttp(
            HttpRequest("POST", path, headers.map { HttpHeader(it.first, it.second) }, body.toByteArray()),
            NOW,
        )
        harness.case("api: handleHttp serves the documented answers and error statuses") {
            val auth = auth()
            val json = "content-type" to "application/json"
            val ok = post(auth, "/v2/supplier/link-sessions", """{"user_id": "u", "redirect_url": "$CALLBACK", "asset_type": "pv"}""", "x-api-key" to SUPPLIER_KEY, json)
            checkEq(ok.status.toInt(), 201, "created")
            checkEq(ok.headers.first { it.name == "cache-control" }.value, "no-store", "cache-control")
            checkEq(post(auth, "/nope", "{}").status.toInt(), 404, "route not found")
            val get = auth.handleHttp(HttpRequest("GET", "/v2/supplier/link-sessions", emptyList(), ByteArray(0)), NOW)
            checkEq(get.status.toInt(), 405, "method not allowed")
            checkEq(post(auth, "/v2/supplier/link-sessions", "{}", "x-api-key" to SUPPLIER_KEY).status.toInt(), 415, "media type")
            checkEq(post(auth, "/v2/supplier/link-sessions", " ".repeat(100_000), "x-api-key" to SUPPLIER_KEY, json).status.toInt(), 413, "too large")
            val garbage = auth.handleHttp(
                HttpRequest("POST", "/users/%FF/link", listOf(HttpHeader("x-api-key", SUPPLIER_KEY), HttpHeader("content-type", "application/json")), byteArrayOf(0xFF.toByte(), 0, 0x7B)),
                NOW,
            )
            checkEq(garbage.status.toInt(), 400, "garbage body")
        }
        harness.case("api: handleAdminHttp looks up and completes once") {
            val auth = auth()
            val json = "content-type" to "application/json"
            val created = post(auth, "/v2/supplier/link-sessions", """{"user_id": "u", "redirect_url": "$CALLBACK", "asset_type": "hp"}""", "x-api-key" to SUPPLIER_KEY, json)
            val token = Regex("\"link_token\":\"([A-Za-z0-9_-]+)\"").find(String(created.body))!!.groupValues[1]
            val admin = { method: String, path: String -> auth.handleAdminHttp(HttpRequest(method, path, emptyList(), ByteArray(0)), NOW + 10) }
            val lookup = admin("GET", "/admin/link-sessions/$token")
            checkEq(lookup.status.toInt(), 200, "lookup")
            check(String(lookup.body).contains("\"state\":\"pending\"")) { "pending: ${String(lookup.body)}" }
            checkEq(admin("POST", "/admin/link-sessions/$token/complete").status.toInt(), 200, "complete")
            val again = admin("POST", "/admin/link-sessions/$token/complete")
            checkEq(again.status.toInt(), 409, "complete twice")
            check(String(again.body).contains("\"code\":\"already_completed\"")) { "code: ${String(again.body)}" }
            checkEq(admin("GET", "/admin/link-sessions/unknown").status.toInt(), 404, "unknown")
        }
    }
}
