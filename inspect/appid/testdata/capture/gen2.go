package main

import (
	"context"
	"net"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// listenOnce accepts one connection on loopback and returns what the
// client sent within the time limit.
func listenOnce(d time.Duration, greeting []byte) (net.Listener, chan []byte, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	rec := &recorder{max: 4096}
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(d))
		c.Write(greeting)
		rec.pump(c, nil, &rec.toServer)
		ts, _ := rec.bytes()
		got <- ts
	}()
	return ln, got, nil
}

func genMongo() ([]byte, []byte, string, error) {
	ln, got, err := listenOnce(2*time.Second, nil)
	if err != nil {
		return nil, nil, "", err
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + ln.Addr().String() + "/?directConnection=true&appName=septa-test").
		SetServerSelectionTimeout(time.Second))
	if err != nil {
		return nil, nil, "", err
	}
	c.Ping(ctx, nil)
	c.Disconnect(context.Background())
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return <-got, nil, port, nil
}

func genGRPC() ([]byte, []byte, string, error) {
	// grpc-go sends its first HEADERS only after the server's preface,
	// an empty SETTINGS frame (RFC 9113 section 3.4), and its ack.
	serverPreface := []byte{0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0}
	ln, got, err := listenOnce(2*time.Second, serverPreface)
	if err != nil {
		return nil, nil, "", err
	}
	defer ln.Close()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("septa-test"))
	if err != nil {
		return nil, nil, "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: "shop"})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return <-got, nil, port, nil
}
