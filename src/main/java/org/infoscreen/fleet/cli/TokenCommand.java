package org.infoscreen.fleet.cli;

import org.infoscreen.fleet.security.ApiToken;
import org.infoscreen.fleet.security.Role;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * {@code token --name ops --role operator}: makes a new random API token, prints it once and the
 * configuration line with its SHA-256 for {@code API_TOKENS} / {@code API_TOKENS_FILE}. The token
 * itself is stored nowhere; the service keeps only the hash. Needs no database or broker.
 */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = {"Make a new REST API token.", "Prints the token once (give it to the user or system) and the line to add to "
                + "API_TOKENS or API_TOKENS_FILE (only its SHA-256 is stored)."})
public class TokenCommand implements Callable<Integer> {

    @Option(names = "--name", required = true, description = "who uses the token (recorded as requested_by): 1-64 of A-Z a-z 0-9 . _ @ -")
    String name;

    @Option(names = "--role", required = true, description = "viewer (reads), operator (commands, acknowledgements) or admin (everything)")
    String role;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Role r;
        try {
            r = Role.of(role);
            if (!ApiToken.NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("--name must be 1-64 of A-Z a-z 0-9 . _ @ -");
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage().startsWith("unknown role")
                    ? "--role: " + e.getMessage() : e.getMessage());
        }
        String token = ApiToken.newToken();
        PrintWriter out = spec.commandLine().getOut();
        out.println("API token for '" + name + "' (" + r.id() + "); shown only now, store it safely:");
        out.println();
        out.println("  " + token);
        out.println();
        out.println("Add this line to API_TOKENS_FILE (one entry per line) or API_TOKENS (entries separated by commas):");
        out.println();
        out.println("  " + ApiToken.configLine(name, r, token));
        out.flush();
        return 0;
    }
}
