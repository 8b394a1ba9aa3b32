package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.infoscreen.fleet.security.ApiToken;
import org.infoscreen.fleet.security.BootstrapAdminToken;
import org.infoscreen.fleet.security.Role;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With no API tokens configured the first start creates a bootstrap admin token: only its hash is
 * kept (database), the plaintext is written once to a mode-600 file whose path, never the value,
 * is logged; later starts accept the same token and write nothing.
 */
class BootstrapTokenTest extends FleetTestSupport {

    private static final LogCapture LOG = LogCapture.start();
    private static final Path DIR = tempDir();
    private static final Path FILE = DIR.resolve("data").resolve("admin-token");

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("fleet-bootstrap");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.api.tokens-file", "");
        p.setProperty("fleet.api.bootstrap-token-file", FILE.toString());
        return p;
    }

    @Test
    void theBootstrapTokenIsWrittenOnceOwnerOnlyAndWorksAsAdmin() throws Exception {
        assertThat(Files.getPosixFilePermissions(FILE)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        String token = Files.readString(FILE).strip();
        assertThat(token).matches("fleet_[A-Za-z0-9_-]{43}");

        HttpResponse<String> whoami = request("GET", "/api/whoami", null, token, Map.of());
        assertThat(whoami.statusCode()).isEqualTo(200);
        JsonNode me = json(whoami.body());
        assertThat(me.path("name").asText()).isEqualTo("bootstrap-admin");
        assertThat(me.path("role").asText()).isEqualTo("admin");
        assertThat(httpWithoutToken("GET", "/api/clients").statusCode()).isEqualTo(401);
        // the class's test tokens are not configured here
        assertThat(httpAs(Role.ADMIN, "GET", "/api/clients").statusCode()).isEqualTo(401);

        // only the hash is stored
        assertThat((byte[]) scalar("SELECT token_sha256 FROM api_bootstrap_token")).isEqualTo(ApiToken.hash(token));
        assertThat(scalar("SELECT count(*) FROM api_bootstrap_token")).isEqualTo(1L);

        // the path is logged, the value never
        String logged = LOG.text();
        assertThat(logged).contains(FILE.toAbsolutePath().toString()).doesNotContain(token);
    }

    @Test
    void aLaterStartAcceptsTheSameTokenAndWritesNoFile() throws Exception {
        String token = Files.readString(FILE).strip();
        Path other = DIR.resolve("second-start-admin-token");
        ApiToken again = BootstrapAdminToken.ensure(dataSource(), other);
        assertThat(again.matches(ApiToken.hash(token))).isTrue();
        assertThat(again.name()).isEqualTo("bootstrap-admin");
        assertThat(other).doesNotExist();
    }

    @Test
    void aNewDatabaseAdoptsTheTokenInTheFileInsteadOfWritingANewOne() throws Exception {
        String token = Files.readString(FILE).strip();
        byte[] before = (byte[]) scalar("SELECT token_sha256 FROM api_bootstrap_token");
        try {
            update("DELETE FROM api_bootstrap_token");
            ApiToken adopted = BootstrapAdminToken.ensure(dataSource(), FILE);
            assertThat(adopted.matches(ApiToken.hash(token))).isTrue();
            assertThat(Files.readString(FILE).strip()).isEqualTo(token);
            assertThat((byte[]) scalar("SELECT token_sha256 FROM api_bootstrap_token")).isEqualTo(ApiToken.hash(token));
        } finally {
            update("UPDATE api_bootstrap_token SET token_sha256 = ?", (Object) before);
        }
    }
}
