// The package test's root module: the README's AppModule with the README's OperationsModule beside it, as
// the README says to import it. The README's src/main.ts is written with its AppModule import pointed here.
import { Module } from '@nestjs/common';
import { AppModule } from './app.module';
import { OperationsModule } from './operations.module';

@Module({ imports: [AppModule, OperationsModule] })
export class ConsumerModule {}
