// Entry point of the Kotlin suite: the shared conformance vectors, then the binding's own API
// and every error type. Usage: Main <tests/vectors dir>

package energy.nox.authenticator.test

import java.io.File
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    if (args.size != 1) {
        System.err.println("usage: Main <vectors dir>")
        exitProcess(2)
    }
    val harness = Harness()
    Vectors(File(args[0]), harness).runAll()
    ApiTests(File(args[0], "config.json").readText(), harness).runAll()
    exitProcess(if (harness.report()) 0 else 1)
}
