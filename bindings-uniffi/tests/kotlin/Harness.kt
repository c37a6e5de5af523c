// A minimal test harness: named cases, failures reported by name, one closing line in the
// "N passed, N failed" form that CI reads.

package energy.nox.authenticator.test

class Harness {
    var passed = 0
        private set
    val failures = mutableListOf<String>()

    /** Runs one named case; any exception or failed check fails it (and only it). */
    fun case(name: String, body: () -> Unit) {
        try {
            body()
            passed += 1
        } catch (e: Throwable) {
            failures += "$name: ${e::class.simpleName}: ${e.message ?: e.toString()}"
        }
    }

    fun report(): Boolean {
        for (failure in failures) println("FAIL $failure")
        println("kotlin: $passed passed, ${failures.size} failed")
        return failures.isEmpty()
    }
}

class CheckFailed(message: String) : Exception(message)

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw CheckFailed(message())
}

fun <T> checkEq(actual: T, expected: T, what: String = "value") {
    if (actual != expected) throw CheckFailed("$what: expected <$expected>, got <$actual>")
}

/** Runs `body`, which must throw an `E`; returns it for further checks. */
inline fun <reified E : Throwable> expectThrows(what: String, body: () -> Unit): E {
    try {
        body()
    } catch (e: Throwable) {
        if (e is E) return e
        throw CheckFailed("$what: expected ${E::class.simpleName}, got ${e::class.simpleName}: $e")
    }
    throw CheckFailed("$what: expected ${E::class.simpleName}, nothing was thrown")
}
