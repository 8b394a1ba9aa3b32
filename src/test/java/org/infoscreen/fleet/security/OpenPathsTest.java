package org.infoscreen.fleet.security;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which paths need no token. */
class OpenPathsTest {

    private final OpenPaths open = new OpenPaths("/,/index.html,/favicon.ico,/assets/*");

    @Test
    void healthAndItsSubPathsAreOpenForAnyMethod() {
        assertThat(open.isOpen("GET", "/observe/health")).isTrue();
        assertThat(open.isOpen("GET", "/observe/health/live")).isTrue();
        assertThat(open.isOpen("HEAD", "/observe/health/ready")).isTrue();
        assertThat(open.isOpen("GET", "/observe/healthz")).isFalse();
        assertThat(open.isOpen("GET", "/observe/metrics")).isFalse();
    }

    @Test
    void dashboardFilesAreOpenForGetAndHeadOnly() {
        assertThat(open.isOpen("GET", "/")).isTrue();
        assertThat(open.isOpen("HEAD", "/index.html")).isTrue();
        assertThat(open.isOpen("GET", "/assets/app.js")).isTrue();
        assertThat(open.isOpen("GET", "/assets/")).isFalse();
        assertThat(open.isOpen("GET", "/assets")).isFalse();
        assertThat(open.isOpen("POST", "/")).isFalse();
        assertThat(open.isOpen("DELETE", "/assets/app.js")).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/clients", "/api", "/observe/metrics", "/nope", "/index.htm", "/q/dev", "/API/clients"})
    void everythingElseNeedsAToken(String path) {
        assertThat(open.isOpen("GET", path)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/*", "/api", "/observe/*", "/observe/metrics", "/*", "assets/*", "/a/../api/*", "/a*b", "/a/**"})
    void nothingUnderApiOrObserveCanBeOpened(String entry) {
        assertThatThrownBy(() -> new OpenPaths(entry)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("API_OPEN_PATHS");
    }
}
