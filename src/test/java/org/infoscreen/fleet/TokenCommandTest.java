package org.infoscreen.fleet;

import org.infoscreen.fleet.cli.FleetCommand;
import org.infoscreen.fleet.security.ApiToken;
import org.infoscreen.fleet.security.Role;
import org.infoscreen.fleet.security.TokenStore;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code java -jar infoscreen-fleet.jar token ...} and the token configuration format. */
class TokenCommandTest {

    @Test
    void tokenPrintsANewTokenOnceAndTheConfigLineWithItsHash() {
        StringWriter out = new StringWriter();
        CommandLine cli = FleetCommand.commandLine();
        cli.setOut(new PrintWriter(out));
        assertThat(cli.execute("token", "--name", "ops", "--role", "operator")).isZero();

        Matcher token = Pattern.compile("fleet_[A-Za-z0-9_-]{43}").matcher(out.toString());
        assertThat(token.find()).as(out.toString()).isTrue();
        String plaintext = token.group();
        assertThat(token.find()).as("printed once").isFalse();
        Matcher line = Pattern.compile("ops:operator:sha256:[0-9a-f]{64}").matcher(out.toString());
        assertThat(line.find()).isTrue();

        List<ApiToken> parsed = TokenStore.parse(line.group(), "test");
        assertThat(TokenStore.of("test", parsed).authenticate(plaintext)).hasValueSatisfying(t -> {
            assertThat(t.name()).isEqualTo("ops");
            assertThat(t.role()).isEqualTo(Role.OPERATOR);
        });
        assertThat(TokenStore.of("test", parsed).authenticate(plaintext + "x")).isEmpty();
    }

    @Test
    void aBadRoleOrNameIsAUsageErrorAndPrintsNoToken() {
        for (String[] args : List.of(new String[] {"token", "--name", "ops", "--role", "root"},
                new String[] {"token", "--name", "o p s", "--role", "viewer"},
                new String[] {"token", "--role", "viewer"})) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            CommandLine cli = FleetCommand.commandLine();
            cli.setOut(new PrintWriter(out));
            cli.setErr(new PrintWriter(err));
            assertThat(cli.execute(args)).isEqualTo(2);
            assertThat(out.toString() + err.toString()).doesNotContain("fleet_");
        }
    }

    @Test
    void malformedTokenEntriesAreRefusedWithoutEchoingThem() {
        String plaintext = ApiToken.newToken();
        assertThatThrownBy(() -> TokenStore.parse("ops:admin:" + plaintext, "API_TOKENS"))
                .hasMessageContaining("API_TOKENS: entry 1").hasMessageNotContaining(plaintext);
        assertThatThrownBy(() -> TokenStore.parse(plaintext, "API_TOKENS")).hasMessageNotContaining(plaintext);
        String hash = "a".repeat(64);
        assertThatThrownBy(() -> TokenStore.parse("ops:root:sha256:" + hash, "API_TOKENS")).hasMessageContaining("entry 1");
        assertThatThrownBy(() -> TokenStore.parse("ops:viewer:sha256:" + hash + "\nops:admin:sha256:" + "b".repeat(64), "API_TOKENS"))
                .hasMessageContaining("two roles");
        // comments, blank lines, commas; one name twice with one role (rotation)
        assertThat(TokenStore.parse("# tokens\n\nops:viewer:sha256:" + hash + ", ops:viewer:sha256:" + "b".repeat(64), "x")).hasSize(2);
    }
}
