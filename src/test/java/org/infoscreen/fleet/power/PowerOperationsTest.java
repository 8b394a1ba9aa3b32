package org.infoscreen.fleet.power;

import org.apache.camel.http.base.HttpOperationFailedException;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which driver failures the shared power route retries, and how it names them: retryable ones
 * (connection refused, reset, timeout, 408/429/5xx) are retried, fatal ones (auth, configuration,
 * unsupported) fail at once with a detail.
 */
class PowerOperationsTest {

    private final PowerOperations ops = new PowerOperations(null, null, null, 10, 300);

    private static HttpOperationFailedException http(int code) {
        return new HttpOperationFailedException("http://plug/rpc", code, "x", null, Map.of(), "{\"code\":" + code + "}");
    }

    @Test
    void transientNetworkErrorsAndTemporaryDeviceAnswersAreRetryable() {
        assertThat(ops.retryable(new ConnectException("Connection refused"))).isTrue();
        assertThat(ops.retryable(new SocketTimeoutException("Read timed out"))).isTrue();
        assertThat(ops.retryable(new RuntimeException("wrapped", new SocketException("Connection reset")))).isTrue();
        assertThat(ops.retryable(http(503))).isTrue();
        assertThat(ops.retryable(http(429))).isTrue();
        assertThat(ops.retryable(new PowerRetryableException("Shelly RPC error -104"))).isTrue();
        assertThat(ops.kind(new SocketException("Connection reset"))).isEqualTo("retryable");
        assertThat(ops.failure(new SocketException("Connection reset"), "off")).isEqualTo("off: connection lost (Connection reset)");
    }

    @Test
    void authConfigurationAndUnsupportedFailAtOnceWithTheirKind() {
        assertThat(ops.retryable(http(401))).isFalse();
        assertThat(ops.kind(http(401))).isEqualTo("auth");
        assertThat(ops.failure(http(401), "cycle")).startsWith("cycle: HTTP 401 authentication refused");
        assertThat(ops.retryable(new PowerFatalException("auth: Tasmota WARNING Need user=..."))).isFalse();
        assertThat(ops.kind(new PowerFatalException("auth: Tasmota WARNING Need user=..."))).isEqualTo("auth");
        assertThat(ops.kind(new UnknownHostException("plug.invalid"))).isEqualTo("configuration");
        assertThat(ops.kind(new PowerUnsupportedException("no PowerCycle"))).isEqualTo("unsupported");
        assertThat(ops.retryable(http(404))).isFalse();
        // the first typed error on the cause chain decides: a fatal one wrapping a network error stays fatal
        PowerFatalException wrapped = new PowerFatalException("configuration: x");
        wrapped.initCause(new ConnectException());
        assertThat(ops.retryable(wrapped)).isFalse();
    }
}
